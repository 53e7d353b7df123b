import type { DriverHooks } from "./node_driver.ts";

/**
 * Hooks for a node driver run alone, outside a RaftKvNode (tests, measurement children): it sends
 * nothing and nobody waits on its applies or reads; only a storage failure is reported.
 */
export function quietHooks(onFatal: (error: Error) => void): DriverHooks {
  return {
    send: () => {},
    onApplied: () => {},
    onConfApplied: () => {},
    onSnapshotInstalled: () => {},
    onReadState: () => {},
    onDroppedRead: () => {},
    onSoftState: () => {},
    onConfigurationChanged: () => {},
    onReadyProcessed: () => {},
    onFatal,
  };
}
