import assert from "node:assert/strict";
import { splitRule } from "./host.ts";

Deno.test("an iptables -S rule splits into the arguments that delete it, quoted comments kept whole", () => {
  assert.deepEqual(
    splitRule(
      'POSTROUTING -s 10.244.0.5/32 -m comment --comment "name: \\"localkube\\" id: \\"abc\\"" -j CNI-1f2e',
    ),
    [
      "POSTROUTING",
      "-s",
      "10.244.0.5/32",
      "-m",
      "comment",
      "--comment",
      'name: "localkube" id: "abc"',
      "-j",
      "CNI-1f2e",
    ],
  );
  assert.deepEqual(splitRule("INPUT -j KUBE-FIREWALL"), ["INPUT", "-j", "KUBE-FIREWALL"]);
});
