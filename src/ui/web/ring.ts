/**
 * The nodes on a ring, RaftScope-style: each a circle coloured by role with its term inside,
 * links between them (red and dashed where a fault cuts them), and messages as dots flying from
 * sender to receiver (a dropped one dies half-way).
 */
import { s } from "./dom.ts";

export interface RingNode {
  id: number;
  role: string;
  term?: number;
  vote?: number;
  /** down, paused, restarting, learner, quarantined, ... shown under the node. */
  note?: string;
  down?: boolean;
  learner?: boolean;
  /** Peers this node does not exchange messages with (a partition seen by this node). */
  cutFrom?: number[];
}

export interface FlyingMessage {
  from: number;
  to: number;
  type: string;
  dropped?: boolean;
  reject?: boolean;
  /** Milliseconds before it starts (to spread a batch over the time it covers). */
  delayMs?: number;
}

const SIZE = 420;
const CENTER = SIZE / 2;
const RADIUS = 150;
const NODE_R = 36;
/** Animations alive at once at most: beyond that new messages are not drawn (the log still has them). */
const MAX_FLYING = 160;

export const MESSAGE_COLORS: Record<string, string> = {
  app: "#2f6fdf",
  appResp: "#8fb4f5",
  heartbeat: "#9a9a9a",
  heartbeatResp: "#cfcfcf",
  preVote: "#f0a030",
  preVoteResp: "#f6cf8f",
  vote: "#e0601a",
  voteResp: "#f2a77f",
  snap: "#8b5a2b",
  timeoutNow: "#d02020",
  readIndex: "#8a3fd1",
  readIndexResp: "#c49be9",
  transferLeader: "#d02080",
};

export class Ring {
  readonly svg: SVGSVGElement;
  #links: SVGGElement;
  #nodes: SVGGElement;
  #flying: SVGGElement;
  #positions = new Map<number, { x: number; y: number }>();
  #alive = 0;
  /** Milliseconds a message takes to cross: slower than real life, so that eyes can follow. */
  flightMs = 700;

  constructor(container: Element) {
    this.svg = s("svg", {
      viewBox: `0 0 ${SIZE} ${SIZE}`,
      class: "ring",
      role: "img",
      "aria-label": "cluster",
    }) as SVGSVGElement;
    this.#links = s("g") as SVGGElement;
    this.#flying = s("g") as SVGGElement;
    this.#nodes = s("g") as SVGGElement;
    this.svg.append(this.#links, this.#flying, this.#nodes);
    container.append(this.svg);
  }

  setNodes(nodes: RingNode[]): void {
    const sorted = [...nodes].sort((a, b) => a.id - b.id);
    this.#positions.clear();
    sorted.forEach((n, i) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, sorted.length);
      this.#positions.set(n.id, {
        x: CENTER + RADIUS * Math.cos(angle),
        y: CENTER + RADIUS * Math.sin(angle),
      });
    });
    this.#links.replaceChildren();
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        const a = sorted[i], b = sorted[j];
        const cut = a.cutFrom?.includes(b.id) || b.cutFrom?.includes(a.id);
        const pa = this.#positions.get(a.id)!, pb = this.#positions.get(b.id)!;
        this.#links.append(s("line", {
          x1: pa.x,
          y1: pa.y,
          x2: pb.x,
          y2: pb.y,
          class: cut ? "link cut" : "link",
          "data-link": `${a.id}-${b.id}`,
        }));
      }
    }
    this.#nodes.replaceChildren(...sorted.map((n) => this.#drawNode(n)));
  }

  #drawNode(n: RingNode): SVGElement {
    const p = this.#positions.get(n.id)!;
    const role = n.down && n.role !== "paused" ? "down" : n.role;
    return s(
      "g",
      {
        class: `node role-${role}${n.learner ? " learner" : ""}`,
        transform: `translate(${p.x} ${p.y})`,
        "data-node": n.id,
        "data-role": role,
      },
      s("circle", { r: NODE_R }),
      s("text", { class: "node-id", y: -8 }, `n${n.id}`),
      s("text", { class: "node-term", y: 12 }, n.term === undefined ? "?" : `T${n.term}`),
      n.vote ? s("text", { class: "node-vote", y: 27 }, `vote ${n.vote}`) : null,
      s("text", { class: "node-note", y: NODE_R + 16 }, n.note ?? role),
    );
  }

  fly(m: FlyingMessage): void {
    const a = this.#positions.get(m.from), b = this.#positions.get(m.to);
    if (!a || !b || this.#alive >= MAX_FLYING) return;
    // Start and end at the circles' edges, not their centres.
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
    const ux = dx / len, uy = dy / len;
    const from = { x: a.x + ux * NODE_R, y: a.y + uy * NODE_R };
    const to = { x: b.x - ux * NODE_R, y: b.y - uy * NODE_R };
    const end = m.dropped ? { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 } : to;
    const dot = s("circle", {
      r: m.type === "app" || m.type === "snap" ? 7 : 5,
      fill: MESSAGE_COLORS[m.type] ?? "#444",
      class: `msg msg-${m.type}${m.reject ? " reject" : ""}${m.dropped ? " dropped" : ""}`,
      cx: 0,
      cy: 0,
      transform: `translate(${from.x} ${from.y})`,
    }, s("title", {}, `${m.type} ${m.from}→${m.to}${m.dropped ? " (dropped by a fault)" : ""}`));
    this.#flying.append(dot);
    this.#alive++;
    const frames: Keyframe[] = [
      { transform: `translate(${from.x}px, ${from.y}px)`, opacity: 1 },
      { transform: `translate(${end.x}px, ${end.y}px)`, opacity: m.dropped ? 0.1 : 1 },
    ];
    const animation = dot.animate(frames, {
      duration: m.dropped ? this.flightMs / 2 : this.flightMs,
      delay: m.delayMs ?? 0,
      easing: "linear",
      fill: "both",
    });
    animation.onfinish = animation.oncancel = () => {
      dot.remove();
      this.#alive--;
    };
  }

  /** Messages in the air right now (the test reads it). */
  get flying(): number {
    return this.#alive;
  }
}
