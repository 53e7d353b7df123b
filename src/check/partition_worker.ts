/// <reference lib="deno.worker" />
/**
 * A worker thread that checks batches of partitions sent by worker_pool.ts: one message per finished
 * partition, then one saying the batch is done. Models travel by name: functions cannot be posted.
 */
import { checkPartitionBatch } from "./check_partitions.ts";
import { modelByName } from "./models.ts";
import type { PartitionBatch, WorkerMessage } from "./worker_pool.ts";

self.onmessage = (event: MessageEvent<PartitionBatch>) => {
  const { modelName, limits, stop, partitions } = event.data;
  const send = (message: WorkerMessage) => self.postMessage(message);
  checkPartitionBatch(partitions, modelByName(modelName), limits, stop, (outcome) => send({ outcome }));
  send({ batchDone: true });
};
