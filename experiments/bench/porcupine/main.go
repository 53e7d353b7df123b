// Porcupine (github.com/anishathalye/porcupine), timed on a Jepsen-style key-value log, for
// `deno task bench check-vs-porcupine` (experiments/bench/check_vs_porcupine.ts).
//
//	porcupine-kv <history.txt>   prints one JSON line: {"linearizable":..,"parseMs":..,"checkMs":..}
//	porcupine-kv --testdata      prints the directory of Porcupine's own kv fixtures (test_data/kv)
//
// The model and the parser are written here for raft-kv's bench: a key-value store of strings
// (get, put, append; a missing key reads as ""), partitioned by key, as raft-kv's kv model.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"
)

type kvInput struct {
	op    string // "get", "put" or "append"
	key   string
	value string
}

type kvOutput struct {
	value string
}

var kvModel = porcupine.Model{
	PartitionEvent: func(history []porcupine.Event) [][]porcupine.Event {
		byKey := map[string][]porcupine.Event{}
		keyOf := map[int]string{}
		var order []string
		for _, e := range history {
			if e.Kind == porcupine.CallEvent {
				key := e.Value.(kvInput).key
				keyOf[e.Id] = key
				if _, seen := byKey[key]; !seen {
					order = append(order, key)
				}
			}
			key := keyOf[e.Id]
			byKey[key] = append(byKey[key], e)
		}
		parts := make([][]porcupine.Event, 0, len(order))
		for _, key := range order {
			parts = append(parts, byKey[key])
		}
		return parts
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		current := state.(string)
		in := input.(kvInput)
		switch in.op {
		case "get":
			return output.(kvOutput).value == current, current
		case "put":
			return true, in.value
		default: // append
			return true, current + in.value
		}
	},
	Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
	// Without a hash Porcupine's cache of visited states degrades to comparing every state with
	// every other (c50-ok: 3.6 s instead of ~0.15 s).
	Hash: func(state interface{}) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(string)))
		return h.Sum64()
	},
}

var line = regexp.MustCompile(`^\{:process (\d+), :type :(invoke|ok), :f :(get|put|append), :key "([^"]*)", :value (nil|"[^"]*")\}$`)

func parse(path string) ([]porcupine.Event, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var events []porcupine.Event
	open := map[int]int{} // process -> id of its pending call
	nextID := 0
	scanner := bufio.NewScanner(file)
	for n := 1; scanner.Scan(); n++ {
		m := line.FindStringSubmatch(scanner.Text())
		if m == nil {
			return nil, fmt.Errorf("%s:%d: not a line of the kv log format", path, n)
		}
		process, _ := strconv.Atoi(m[1])
		value := ""
		if m[5] != "nil" {
			value = m[5][1 : len(m[5])-1]
		}
		if m[2] == "invoke" {
			open[process] = nextID
			events = append(events, porcupine.Event{ClientId: process, Kind: porcupine.CallEvent,
				Value: kvInput{op: m[3], key: m[4], value: value}, Id: nextID})
			nextID++
			continue
		}
		id, pending := open[process]
		if !pending {
			return nil, fmt.Errorf("%s:%d: process %d returns without a call", path, n, process)
		}
		delete(open, process)
		events = append(events, porcupine.Event{ClientId: process, Kind: porcupine.ReturnEvent,
			Value: kvOutput{value: value}, Id: id})
	}
	return events, scanner.Err()
}

func testdata() (string, error) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", fmt.Errorf("no build info")
	}
	for _, dep := range info.Deps {
		if dep.Path == "github.com/anishathalye/porcupine" {
			modCache := os.Getenv("GOMODCACHE")
			if modCache == "" {
				gopath := os.Getenv("GOPATH")
				if gopath == "" {
					home, _ := os.UserHomeDir()
					gopath = filepath.Join(home, "go")
				}
				modCache = filepath.Join(gopath, "pkg", "mod")
			}
			return filepath.Join(modCache, "github.com", "anishathalye", "porcupine@"+dep.Version, "test_data", "kv"), nil
		}
	}
	return "", fmt.Errorf("porcupine is not among the build's modules")
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: porcupine-kv <history.txt> | --testdata")
		os.Exit(2)
	}
	if os.Args[1] == "--testdata" {
		dir, err := testdata()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(dir)
		return
	}
	started := time.Now()
	events, err := parse(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	parsed := time.Now()
	ok := porcupine.CheckEvents(kvModel, events)
	checked := time.Now()
	out, _ := json.Marshal(map[string]interface{}{
		"linearizable": ok,
		"parseMs":      float64(parsed.Sub(started).Microseconds()) / 1000,
		"checkMs":      float64(checked.Sub(parsed).Microseconds()) / 1000,
	})
	fmt.Println(string(out))
	if !ok {
		os.Exit(1)
	}
}
