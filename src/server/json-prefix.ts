/**
 * An incremental JSON recogniser for constrained decoding (`response_format: json_object`): it
 * accepts text a character at a time while the text stays a prefix of some valid JSON object,
 * knows when the object is complete, and gives the shortest suffix that completes it.
 */

type State =
  | 'start' // nothing yet: only whitespace or "{"
  | 'value' // a value is expected (after ":" or "," in an array)
  | 'valueOrClose' // after "[": a value or "]"
  | 'keyOrClose' // after "{": a key or "}"
  | 'key' // after "," in an object: a key
  | 'colon' // after a key
  | 'after' // after a value: "," or the container's closer
  | 'string'
  | 'escape'
  | 'unicode'
  | 'number'
  | 'literal'
  | 'done';

/** Number sub-states: which characters may come next. */
type Num = 'minus' | 'zero' | 'int' | 'dot' | 'frac' | 'e' | 'esign' | 'exp';

const WS = new Set([' ', '\t', '\n', '\r']);
const DIGIT = /[0-9]/;
const HEX = /[0-9a-fA-F]/;

export class JsonPrefix {
  private stack: ('{' | '[')[] = [];
  private state: State = 'start';
  private isKey = false;
  private hexLeft = 0;
  private num: Num = 'int';
  private literal = '';

  clone(): JsonPrefix {
    const c = new JsonPrefix();
    c.stack = [...this.stack];
    c.state = this.state;
    c.isKey = this.isKey;
    c.hexLeft = this.hexLeft;
    c.num = this.num;
    c.literal = this.literal;
    return c;
  }

  /** True when the text so far is one complete JSON object (trailing whitespace allowed). */
  get complete(): boolean {
    return this.state === 'done';
  }

  /** Feeds text; false (and an unspecified state) if it would stop being a valid prefix. */
  push(text: string): boolean {
    for (const ch of text) if (!this.char(ch)) return false;
    return true;
  }

  private endValue(): void {
    this.state = this.stack.length === 0 ? 'done' : 'after';
  }

  private startValue(ch: string): boolean {
    if (ch === '{' || ch === '[') {
      this.stack.push(ch);
      this.state = ch === '{' ? 'keyOrClose' : 'valueOrClose';
      return true;
    }
    if (ch === '"') {
      this.state = 'string';
      this.isKey = false;
      return true;
    }
    if (ch === '-' || DIGIT.test(ch)) {
      this.state = 'number';
      this.num = ch === '-' ? 'minus' : ch === '0' ? 'zero' : 'int';
      return true;
    }
    for (const lit of ['true', 'false', 'null'])
      if (lit[0] === ch) {
        this.state = 'literal';
        this.literal = lit.slice(1);
        return true;
      }
    return false;
  }

  private close(ch: string): boolean {
    const top = this.stack[this.stack.length - 1];
    if ((ch === '}' && top === '{') || (ch === ']' && top === '[')) {
      this.stack.pop();
      this.endValue();
      return true;
    }
    return false;
  }

  private char(ch: string): boolean {
    switch (this.state) {
      case 'start':
        if (WS.has(ch)) return true;
        if (ch !== '{') return false; // json_object: the top level is an object
        return this.startValue(ch);
      case 'done':
        return WS.has(ch);
      case 'value':
        return WS.has(ch) || this.startValue(ch);
      case 'valueOrClose':
        return WS.has(ch) || this.close(ch) || this.startValue(ch);
      case 'keyOrClose':
      case 'key':
        if (WS.has(ch)) return true;
        if (this.state === 'keyOrClose' && this.close(ch)) return true;
        if (ch !== '"') return false;
        this.state = 'string';
        this.isKey = true;
        return true;
      case 'colon':
        if (WS.has(ch)) return true;
        if (ch !== ':') return false;
        this.state = 'value';
        return true;
      case 'after':
        if (WS.has(ch)) return true;
        if (ch === ',') {
          this.state = this.stack[this.stack.length - 1] === '{' ? 'key' : 'value';
          return true;
        }
        return this.close(ch);
      case 'string':
        if (ch === '"') {
          if (this.isKey) this.state = 'colon';
          else this.endValue();
          return true;
        }
        if (ch === '\\') {
          this.state = 'escape';
          return true;
        }
        return ch >= ' '; // control characters must be escaped
      case 'escape':
        if (ch === 'u') {
          this.state = 'unicode';
          this.hexLeft = 4;
          return true;
        }
        if (!'"\\/bfnrt'.includes(ch)) return false;
        this.state = 'string';
        return true;
      case 'unicode':
        if (!HEX.test(ch)) return false;
        if (--this.hexLeft === 0) this.state = 'string';
        return true;
      case 'literal':
        if (ch !== this.literal[0]) return false;
        this.literal = this.literal.slice(1);
        if (!this.literal) this.endValue();
        return true;
      case 'number':
        return this.numberChar(ch);
    }
  }

  private numberChar(ch: string): boolean {
    const d = DIGIT.test(ch);
    switch (this.num) {
      case 'minus':
        if (!d) return false;
        this.num = ch === '0' ? 'zero' : 'int';
        return true;
      case 'zero':
      case 'int':
        if (d && this.num === 'int') return true;
        if (ch === '.') return (this.num = 'dot'), true;
        if (ch === 'e' || ch === 'E') return (this.num = 'e'), true;
        break;
      case 'dot':
        if (!d) return false;
        this.num = 'frac';
        return true;
      case 'frac':
        if (d) return true;
        if (ch === 'e' || ch === 'E') return (this.num = 'e'), true;
        break;
      case 'e':
        if (ch === '+' || ch === '-') return (this.num = 'esign'), true;
        if (!d) return false;
        this.num = 'exp';
        return true;
      case 'esign':
        if (!d) return false;
        this.num = 'exp';
        return true;
      case 'exp':
        if (d) return true;
        break;
    }
    // A complete number ends at the first character that cannot continue it.
    this.endValue();
    return this.char(ch);
  }

  /** The shortest text that makes the prefix a complete JSON object. */
  closingSuffix(): string {
    let s = '';
    switch (this.state) {
      case 'start':
        return '{}';
      case 'done':
        return '';
      case 'value':
        s = 'null';
        break;
      case 'key':
        s = '"":null';
        break;
      case 'colon':
        s = ':null';
        break;
      case 'string':
        s = this.isKey ? '":null' : '"';
        break;
      case 'escape':
        s = this.isKey ? 'n":null' : 'n"';
        break;
      case 'unicode':
        s = '0'.repeat(this.hexLeft) + (this.isKey ? '":null' : '"');
        break;
      case 'literal':
        s = this.literal;
        break;
      case 'number':
        s = this.num === 'minus' || this.num === 'dot' || this.num === 'e' || this.num === 'esign' ? '0' : '';
        break;
      default:
        break; // valueOrClose, keyOrClose, after: just close
    }
    for (let i = this.stack.length - 1; i >= 0; i--) s += this.stack[i] === '{' ? '}' : ']';
    return s;
  }
}
