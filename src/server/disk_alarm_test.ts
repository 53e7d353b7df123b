import assert from "node:assert/strict";
import { DiskSpaceAlarm, measureDiskSpace, parseByteSize } from "./disk_alarm.ts";
import { HttpError } from "./http_errors.ts";
import { parseConfig } from "./config.ts";

Deno.test("the NOSPACE alarm rises below the reserve, refuses writes with 507, and clears once space returns", () => {
  let free = 100 << 20;
  const lines: string[] = [];
  const alarm = new DiskSpaceAlarm(
    "/data",
    64 << 20,
    (_, line) => lines.push(line),
    () => ({ freeBytes: free, totalBytes: 1 << 30 }),
    0,
  );
  alarm.refuseWrites(); // plenty of space: no throw
  free = 10 << 20;
  assert.throws(() => alarm.refuseWrites(), (e: HttpError) => {
    assert.equal(e.status, 507);
    assert.equal(e.code, "nospace");
    assert.match(e.message, /10\.0 MiB free .* below the reserve of 64\.0 MiB/);
    return true;
  });
  assert.equal(alarm.view().raised, true);
  assert.equal(alarm.view().refusedWrites, 1);
  free = 66 << 20; // above the reserve but inside the clearing margin: still raised
  alarm.check();
  assert.equal(alarm.raised, true);
  free = 200 << 20;
  alarm.check();
  assert.equal(alarm.raised, false);
  alarm.refuseWrites();
  assert.ok(
    lines.some((l) => l.includes("NOSPACE alarm raised")) && lines.some((l) => l.includes("cleared")),
  );
});

Deno.test("a disk that cannot be measured leaves the alarm off and says why", () => {
  const alarm = new DiskSpaceAlarm("/data", 1, () => {}, () => {
    throw new Deno.errors.NotCapable("no");
  });
  alarm.refuseWrites();
  assert.match(alarm.view().checkError ?? "", /--allow-sys=statfs/);
});

Deno.test("--disk-reserve takes sizes with units, defaults to 64MiB and rejects garbage", () => {
  assert.equal(parseByteSize("512KiB"), 512 * 1024);
  assert.equal(parseByteSize("10MB"), 10_000_000);
  assert.equal(parseByteSize("0"), 0);
  const base = ["--data-dir", "/d", "--peer-token", "p", "--admin-token", "a"];
  assert.equal(parseConfig(base, () => undefined).diskReserveBytes, 64 << 20);
  assert.equal(parseConfig([...base, "--disk-reserve", "1GiB"], () => undefined).diskReserveBytes, 1 << 30);
  assert.throws(
    () => parseConfig([...base, "--disk-reserve", "lots"], () => undefined),
    /--disk-reserve: "lots"/,
  );
});

Deno.test("free space of a data directory not created yet is that of its nearest existing parent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const here = measureDiskSpace(dir);
    const later = measureDiskSpace(`${dir}/node-4/raft`);
    assert.ok(later.totalBytes === here.totalBytes && later.freeBytes > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--snapshot-log-bytes takes a size, defaults to 64MiB, 0 turns it off, and rejects garbage", () => {
  const base = ["--data-dir", "/d", "--peer-token", "p", "--admin-token", "a"];
  assert.equal(parseConfig(base, () => undefined).snapshotLogBytes, 64 << 20);
  assert.equal(
    parseConfig([...base, "--snapshot-log-bytes", "16MiB"], () => undefined).snapshotLogBytes,
    16 << 20,
  );
  assert.equal(parseConfig([...base, "--snapshot-log-bytes", "0"], () => undefined).snapshotLogBytes, 0);
  assert.equal(
    parseConfig(base, (name) => name === "RAFTKV_SNAPSHOT_LOG_BYTES" ? "1MiB" : undefined).snapshotLogBytes,
    1 << 20,
  );
  assert.throws(
    () => parseConfig([...base, "--snapshot-log-bytes", "lots"], () => undefined),
    /--snapshot-log-bytes: "lots" is not a size/,
  );
});
