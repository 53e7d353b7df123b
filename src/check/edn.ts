/**
 * A reader for the subset of EDN that Jepsen-style histories use: maps, vectors, lists, keywords,
 * strings, numbers, nil, true and false. Commas are whitespace. Tags, sets and chars are not supported.
 */

export class Keyword {
  constructor(readonly name: string) {}
  toString(): string {
    return `:${this.name}`;
  }
}

export type EdnValue = null | boolean | number | string | Keyword | EdnValue[] | EdnMap;

/** Map keys are keywords (stored as ":name"), strings (stored as JSON) or numbers (stored as digits). */
export type EdnMap = Map<string, EdnValue>;

export class EdnError extends Error {}

export function parseEdn(text: string): EdnValue {
  const reader = new Reader(text);
  const value = reader.value();
  reader.skipSpace();
  if (reader.pos < text.length) reader.fail("unexpected text after the value");
  return value;
}

/** Characters that end a token: whitespace (ASCII and the other \s ones below 128), , { } [ ] ( ) " ; */
const ENDS_TOKEN = new Uint8Array(65536);
for (const c of ' \t\n\r\v\f,{}[]()";') ENDS_TOKEN[c.charCodeAt(0)] = 1;
for (
  const c
    of "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
) {
  ENDS_TOKEN[c.charCodeAt(0)] = 1;
}

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  fail(why: string): never {
    throw new EdnError(`${why} at column ${this.pos + 1}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === ";") {
        while (this.pos < this.text.length && this.text[this.pos] !== "\n") this.pos++;
      } else if (c === " " || c === "," || c === "\t" || c === "\n" || c === "\r") {
        this.pos++;
      } else {
        return;
      }
    }
  }

  value(): EdnValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === undefined) this.fail("unexpected end of input");
    if (c === "{") return this.map();
    if (c === "[") return this.sequence("]");
    if (c === "(") return this.sequence(")");
    if (c === '"') return this.string();
    if (c === ":") {
      this.pos++;
      return new Keyword(this.token());
    }
    const token = this.token();
    if (token === "nil") return null;
    if (token === "true") return true;
    if (token === "false") return false;
    if (/^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?N?M?$/.test(token)) return Number(token.replace(/[NM]$/, ""));
    this.fail(`unsupported token ${JSON.stringify(token)}`);
  }

  token(): string {
    const start = this.pos;
    // A table lookup per character: a regular expression per character made parsing most of a check.
    while (this.pos < this.text.length && !ENDS_TOKEN[this.text.charCodeAt(this.pos)]) this.pos++;
    if (this.pos === start) this.fail(`unexpected ${JSON.stringify(this.text[this.pos])}`);
    return this.text.slice(start, this.pos);
  }

  string(): string {
    this.pos++;
    // The common case, no escape: one slice.
    const close = this.text.indexOf('"', this.pos);
    const escape = this.text.indexOf("\\", this.pos);
    if (close !== -1 && (escape === -1 || escape > close)) {
      const out = this.text.slice(this.pos, close);
      this.pos = close + 1;
      return out;
    }
    let out = "";
    while (true) {
      const c = this.text[this.pos++];
      if (c === undefined) this.fail("unterminated string");
      if (c === '"') return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.text[this.pos++];
      const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\" };
      if (e in simple) {
        out += simple[e];
      } else if (e === "u") {
        out += String.fromCharCode(parseInt(this.text.slice(this.pos, this.pos + 4), 16));
        this.pos += 4;
      } else {
        this.fail(`unsupported escape \\${e}`);
      }
    }
  }

  sequence(close: string): EdnValue[] {
    this.pos++;
    const items: EdnValue[] = [];
    while (true) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.value());
    }
  }

  map(): EdnMap {
    this.pos++;
    const map: EdnMap = new Map();
    while (true) {
      this.skipSpace();
      if (this.text[this.pos] === "}") {
        this.pos++;
        return map;
      }
      const key = this.value();
      if (!(key instanceof Keyword) && typeof key !== "string" && typeof key !== "number") {
        this.fail("map keys must be keywords, strings or numbers");
      }
      map.set(
        key instanceof Keyword ? key.toString() : typeof key === "string" ? JSON.stringify(key) : String(key),
        this.value(),
      );
    }
  }
}
