/** The metrics of the node's alarms: lost storage (quarantine) and NOSPACE. */
import type { NodeHolder } from "./node_holder.ts";

type MetricWriter = (
  name: string,
  type: "gauge" | "counter",
  help: string,
  samples: Array<[string, number]>,
) => void;

export function writeAlarmMetrics(holder: NodeHolder, metric: MetricWriter): void {
  const node = holder.node;
  if (node) {
    metric(
      "raftkv_quarantined",
      "gauge",
      "1 while this node waits to be re-added after starting with empty storage (its data was lost).",
      [["", node.isQuarantined ? 1 : 0]],
    );
  }
  metric(
    "raftkv_member_disk_alarms",
    "gauge",
    "On the leader: other members with the NOSPACE alarm up (writes are refused cluster-wide).",
    [["", holder.clusterAlarms.view().length]],
  );
  const alarm = holder.diskAlarm?.view();
  if (!alarm) return;
  metric("raftkv_disk_alarm", "gauge", "1 while the NOSPACE alarm is raised (writes refused).", [[
    '{alarm="NOSPACE"}',
    alarm.raised ? 1 : 0,
  ]]);
  metric("raftkv_disk_reserve_bytes", "gauge", "Free space below which writes are refused.", [[
    "",
    alarm.reserveBytes,
  ]]);
  if (alarm.freeBytes !== undefined) {
    metric("raftkv_disk_free_bytes", "gauge", "Free space on the data directory's filesystem.", [[
      "",
      alarm.freeBytes,
    ]]);
  }
  metric("raftkv_writes_refused_nospace_total", "counter", "Writes refused by the NOSPACE alarm.", [[
    "",
    alarm.refusedWrites,
  ]]);
}
