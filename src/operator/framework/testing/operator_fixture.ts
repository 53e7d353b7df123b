import { FakeApiServer } from "./fake_apiserver.ts";
import { memoryLogger } from "./memory_logger.ts";
import { Operator, type OperatorOptions } from "../operator.ts";

/** Settings that make a test operator react in tens of milliseconds instead of seconds. */
export const FAST_SETTINGS: NonNullable<OperatorOptions["settings"]> = {
  watch: { timeoutSeconds: 30, inactivityMs: 10_000, backoffInitialMs: 50, backoffMaxMs: 500 },
  retryBackoff: { initialMs: 50, maxMs: 400 },
  errorBackoff: { initialMs: 50, maxMs: 500 },
  consistencyTimeoutMs: 1_000,
  stopGraceMs: 2_000,
};

export interface Fixture {
  fake: FakeApiServer;
  logger: ReturnType<typeof memoryLogger>;
  /** Starts an operator on the fake; stopped by the fixture at the end unless stopped before. */
  startOperator(handlers: object[], options?: Partial<OperatorOptions>): Promise<Operator>;
}

/** Runs `test` with a fake API server and stops every operator and the server afterwards. */
export async function withFakeCluster(test: (fixture: Fixture) => Promise<void>): Promise<void> {
  const fake = new FakeApiServer();
  const logger = memoryLogger();
  const kubeConfig = fake.kubeConfig();
  const operators: Operator[] = [];
  const stopped = new WeakSet<Operator>();
  try {
    await test({
      fake,
      logger,
      async startOperator(handlers, options = {}) {
        const operator = new Operator({
          kubeConfig,
          handlers,
          logger,
          ...options,
          settings: mergeOneLevel(FAST_SETTINGS, options.settings ?? {}),
        });
        const stop = operator.stop.bind(operator);
        operator.stop = async () => {
          stopped.add(operator);
          await stop();
        };
        operators.push(operator);
        await operator.start();
        return operator;
      },
    });
  } finally {
    for (const operator of operators) if (!stopped.has(operator)) await operator.stop();
    await kubeConfig.closeConnections();
    await fake.stop();
  }
}

function mergeOneLevel<T extends Record<string, unknown>>(base: T, overrides: T): T {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const inner = merged[key];
    merged[key] = typeof inner === "object" && typeof value === "object" ? { ...inner, ...value } : value;
  }
  return merged as T;
}
