import assert from "node:assert/strict";
import { parseCommandLine, splitWords, UsageError } from "./cli_args.ts";

Deno.test("command line grammar", async (t) => {
  await t.step("good commands", () => {
    assert.deepEqual(parseCommandLine(["put", "k", "v"]), {
      endpoints: undefined,
      command: { name: "put", key: "k", value: { from: "argument", text: "v" }, node: undefined },
    });
    assert.deepEqual(
      parseCommandLine(["--endpoints", "http://a", "get", "k", "--stale", "--node", "2"]).command,
      {
        name: "get",
        key: "k",
        node: 2,
        stale: true,
        raw: false,
      },
    );
    assert.deepEqual(parseCommandLine(["put", "k", "--if-absent", "--", "-5"]).command, {
      name: "put",
      key: "k",
      value: { from: "argument", text: "-5" },
      node: undefined,
      prevValue: null,
    });
    assert.deepEqual(parseCommandLine(["put", "k", "--value-file", "big.bin"]).command, {
      name: "put",
      key: "k",
      value: { from: "file", path: "big.bin" },
      node: undefined,
    });
    assert.deepEqual(parseCommandLine(["put", "k", "-"]).command, {
      name: "put",
      key: "k",
      value: { from: "stdin" },
      node: undefined,
    });
    assert.equal((parseCommandLine(["get", "k", "--raw"]).command as { raw: boolean }).raw, true);
    assert.equal(parseCommandLine(["put", "k", "v", "--prev-value", "old"]).command?.name, "put");
    assert.deepEqual(parseCommandLine(["status", "--json"]).command, {
      name: "status",
      node: undefined,
      json: true,
    });
    assert.deepEqual(parseCommandLine(["--endpoints=http://a"]), { endpoints: "http://a" });
    assert.deepEqual(parseCommandLine(["-h"]).command, { name: "help" });
  });
  await t.step("malformed commands are UsageErrors that say what is wrong", () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ["put", "k"],
        /put takes <key> <value> \(or <key> --value-file FILE, or <key> - to read standard input\), got 1/,
      ],
      [["put", "k", "v", "--value-file", "f"], /put takes its value once/],
      [["put", "k", "a\uFFFDb"], /U\+FFFD.*not UTF-8.*--value-file/],
      [["get", "k", "--value-file", "f"], /--value-file does not apply to get/],
      [["put", "k", "v", "--raw"], /--raw does not apply to put/],
      [["get"], /get takes <key>/],
      [["status", "x"], /status takes no arguments/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [["constructor"], /unknown command/],
      [["__proto__"], /unknown command/],
      [["get", "k", "--node", "two"], /--node takes a node id/],
      [["get", "k", "--node", "0"], /--node takes a node id/],
      [["get", "k", "--node", "1e3"], /--node takes a node id/],
      [["delete", "k", "--stale"], /--stale does not apply to delete/],
      [["put", "k", "v", "--prev-value", "a", "--if-absent"], /exclude each other/],
      [["--stale"], /--stale needs a command/],
      [["get", "k", "--bogus"], /Unknown option '--bogus'/],
      [["get", "--node"], /argument missing/],
      [["put", "k", "-5"], /Unknown option '-5'/],
    ];
    for (const [args, message] of cases) {
      assert.throws(
        () => parseCommandLine(args),
        (error) => error instanceof UsageError && message.test(error.message),
        args.join(" "),
      );
    }
    assert.throws(
      () => parseCommandLine(["--endpoints", "http://a", "get", "k"], false),
      /not inside the prompt/,
    );
  });
  await t.step("REPL word splitting", () => {
    assert.deepEqual(splitWords(`put greeting "hello world"`), ["put", "greeting", "hello world"]);
    assert.deepEqual(splitWords(`put 'a b' "say \\"hi\\"" c\\ d ''`), ["put", "a b", 'say "hi"', "c d", ""]);
    assert.deepEqual(splitWords("  \t "), []);
    assert.throws(() => splitWords(`put k "open`), /unterminated " quote/);
  });
});
