import assert from "node:assert/strict";
import { SERVER_ENV } from "./runtime_tuning.ts";

Deno.test("the container image starts the server with the same memory settings as the local supervisor", async () => {
  const dockerfile = await Deno.readTextFile(new URL("../../Dockerfile.server", import.meta.url));
  for (const [name, value] of Object.entries(SERVER_ENV)) {
    assert.match(
      dockerfile,
      new RegExp(`^ENV ${name}=${value}$`, "m"),
      `Dockerfile.server lacks ENV ${name}=${value}`,
    );
  }
});
