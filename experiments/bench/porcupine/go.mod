// Porcupine, for the checker's head-to-head bench (experiments/bench/check_vs_porcupine.ts builds it
// once per machine into ~/.cache/raft-kv/).
module raftkv/porcupine-kv

go 1.26

require github.com/anishathalye/porcupine v1.3.1
