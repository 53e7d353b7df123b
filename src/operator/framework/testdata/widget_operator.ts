// The widget operator as a process of its own, for the end-to-end tests that kill operators.
// Usage: widget_operator.ts --kubeconfig FILE --namespace NS --identity ID --journal FILE
//          [--gate FILE] [--lease NAME]
// SIGTERM stops it gracefully (releasing the Lease); SIGKILL is what the tests use to crash it.
import { parseArgs } from "node:util";
import { KubeConfigH1 } from "../kube_config.ts";
import { Operator } from "../operator.ts";
import { consoleLogger } from "../engines/logging.ts";
import { WidgetHandlers } from "./widget_handlers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    kubeconfig: { type: "string" },
    namespace: { type: "string" },
    identity: { type: "string" },
    journal: { type: "string" },
    gate: { type: "string" },
    lease: { type: "string" },
  },
});
for (const required of ["kubeconfig", "namespace", "identity", "journal"] as const) {
  if (!values[required]) throw new Error(`--${required} is required`);
}
const kubeConfig = new KubeConfigH1();
kubeConfig.loadFromFile(values.kubeconfig!);
const operator = new Operator({
  kubeConfig,
  namespace: values.namespace,
  handlers: [new WidgetHandlers({ journal: values.journal!, identity: values.identity!, gate: values.gate })],
  logger: consoleLogger("debug", `${values.identity} `),
  settings: { retryBackoff: { initialMs: 200, maxMs: 2000 }, stopGraceMs: 2000 },
  ...(values.lease
    ? {
      leaderElection: {
        leaseName: values.lease,
        namespace: values.namespace!,
        identity: values.identity!,
        // Short, so that the takeover test is quick; same ratios as controller-runtime's 15/10/2.
        leaseDurationMs: 4000,
        renewDeadlineMs: 3000,
        retryPeriodMs: 500,
      },
    }
    : {}),
});
let stopping = false;
Deno.addSignalListener("SIGTERM", async () => {
  if (stopping) return;
  stopping = true;
  await operator.stop();
  await kubeConfig.closeConnections();
  Deno.exit(0);
});
await operator.start();
console.log(`${values.identity} started`);
