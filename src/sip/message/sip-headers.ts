import { LIST_HEADERS, headerKey, headerName } from './header-names.js';
import { splitList } from './list-split.js';
import type { SipHeaderField, SipHeaders } from './types.js';

/** One header field; a class so that every field has the same hidden shape. */
export class HeaderField implements SipHeaderField {
  name: string;
  lname: string;
  value: string;
  constructor(name: string, lname: string, value: string) {
    this.name = name;
    this.lname = lname;
    this.value = value;
  }
}

/**
 * Ordered, case-insensitive header list (RFC 3261 §7.3). Fields keep the received value; the
 * list structure of list headers (§7.3.1) is applied only when a caller asks for it.
 */
export class HeaderList implements SipHeaders {
  /** The fields in wire order. Exposed for the parser and serializer of this folder. */
  readonly fields: HeaderField[];

  constructor(fields?: HeaderField[]) {
    this.fields = fields ?? [];
  }

  get size(): number {
    return this.fields.length;
  }

  [Symbol.iterator](): Iterator<SipHeaderField> {
    return this.fields[Symbol.iterator]();
  }

  get(name: string): string | undefined {
    const key = headerKey(name);
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as HeaderField;
      if (f.lname !== key) continue;
      if (f.value.indexOf(',') !== -1 && LIST_HEADERS.has(key)) {
        const parts = splitList(f.value);
        if (parts.length === 0) continue;
        return parts[0];
      }
      return f.value;
    }
    return undefined;
  }

  getAll(name: string): string[] {
    const key = headerKey(name);
    const list = LIST_HEADERS.has(key);
    const out: string[] = [];
    for (const f of this.fields) {
      if (f.lname !== key) continue;
      if (list && f.value.indexOf(',') !== -1) {
        for (const p of splitList(f.value)) out.push(p);
      } else {
        out.push(f.value);
      }
    }
    return out;
  }

  has(name: string): boolean {
    const key = headerKey(name);
    for (const f of this.fields) if (f.lname === key) return true;
    return false;
  }

  set(name: string, value: string | readonly string[]): void {
    const key = headerKey(name);
    const canonical = headerName(name);
    const values = typeof value === 'string' ? [value] : value;
    const fields = this.fields;
    let at = -1;
    for (let i = fields.length - 1; i >= 0; i--) {
      if ((fields[i] as HeaderField).lname === key) {
        fields.splice(i, 1);
        at = i;
      }
    }
    const made = values.map((v) => new HeaderField(canonical, key, v));
    if (at === -1) fields.push(...made);
    else fields.splice(at, 0, ...made);
  }

  append(name: string, value: string): void {
    this.fields.push(new HeaderField(headerName(name), headerKey(name), value));
  }

  prepend(name: string, value: string): void {
    const key = headerKey(name);
    const field = new HeaderField(headerName(name), key, value);
    const at = this.fields.findIndex((f) => f.lname === key);
    this.fields.splice(at === -1 ? 0 : at, 0, field);
  }

  delete(name: string): void {
    const key = headerKey(name);
    const fields = this.fields;
    for (let i = fields.length - 1; i >= 0; i--) {
      if ((fields[i] as HeaderField).lname === key) fields.splice(i, 1);
    }
  }

  clone(): HeaderList {
    return new HeaderList(this.fields.map((f) => new HeaderField(f.name, f.lname, f.value)));
  }

  /** Number of fields with that name (not list elements); used for single-value checks. */
  count(name: string): number {
    const key = headerKey(name);
    let n = 0;
    for (const f of this.fields) if (f.lname === key) n++;
    return n;
  }
}

/** A header list from `[name, value]` pairs (names may be compact or any case). */
export function createHeaders(init?: Iterable<readonly [string, string]>): SipHeaders {
  const list = new HeaderList();
  if (init !== undefined) for (const [name, value] of init) list.append(name, value);
  return list;
}

/** Copies any SipHeaders implementation into a HeaderList (or returns it when it already is one). */
export function toHeaderList(h: SipHeaders | Iterable<readonly [string, string]> | undefined): HeaderList {
  if (h === undefined) return new HeaderList();
  if (h instanceof HeaderList) return h;
  const list = new HeaderList();
  for (const item of h as Iterable<SipHeaderField | readonly [string, string]>) {
    if (Array.isArray(item)) {
      const pair = item as readonly [string, string];
      list.append(pair[0], pair[1]);
    } else {
      const f = item as SipHeaderField;
      list.fields.push(new HeaderField(f.name, f.lname, f.value));
    }
  }
  return list;
}
