/**
 * Kubernetes' `$(VAR)` expansion in container command, args and env values: a reference to a
 * defined variable is replaced, an undefined one is kept as written, and `$$` escapes a `$`
 * (so `$$(VAR)` stays `$(VAR)`), as in the kubelet's third_party/forked/golang/expansion.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== "$" || i + 1 >= input.length) {
      out += input[i];
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close === -1) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += lookup(name) ?? `$(${name})`;
      i = close;
    } else {
      out += "$" + next;
      i++;
    }
  }
  return out;
}
