/** One-line, human-readable renderings of protocol messages for simulator traces. */
import type { Message } from "../raft/mod.ts";
import { payloadOf } from "./invariants.ts";

export function describeMessage(m: Message): string {
  const parts = [`${m.type} t${m.term}`];
  switch (m.type) {
    case "app": {
      const ents = m.entries ?? [];
      parts.push(`prev=${m.index}/t${m.logTerm} commit=${m.commit}`);
      if (ents.length) {
        const shown = ents.slice(0, 3).map((e) => `${e.index}/t${e.term}:${payloadOf(e)}`).join(", ");
        parts.push(`entries[${ents.length}]=[${shown}${ents.length > 3 ? ", ..." : ""}]`);
      }
      break;
    }
    case "appResp":
      parts.push(
        m.reject ? `REJECT at ${m.index} hint=${m.rejectHint}/t${m.logTerm}` : `ok index=${m.index}`,
      );
      break;
    case "vote":
    case "preVote":
      parts.push(`last=${m.index}/t${m.logTerm}${m.transfer ? " (transfer)" : ""}`);
      break;
    case "voteResp":
    case "preVoteResp":
      parts.push(m.reject ? "REJECT" : "GRANT");
      break;
    case "heartbeat":
      parts.push(`commit=${m.commit}${m.context ? ` ctx=${m.context}` : ""}`);
      break;
    case "snap":
      parts.push(`snapshot@${m.snapshot?.meta.index}/t${m.snapshot?.meta.term}`);
      break;
    case "readIndexResp":
      parts.push(`index=${m.index} ctx=${m.context}`);
      break;
    case "transferLeader":
      parts.push(`target=${m.index}`);
      break;
  }
  return parts.join(" ");
}
