import { VisibilityQueryError } from './errors.ts';
import { type Token, tokenize } from './lexer.ts';

// Syntax tree of a list filter. Attribute names and value types are checked later, by the compiler,
// against the namespace's search attributes.

export interface AttributeRef {
  name: string;
  pos: number;
}

export type Literal =
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'bool'; value: boolean; pos: number };

export type ComparisonOperator = '=' | '!=' | '>' | '>=' | '<' | '<=';

export type FilterNode =
  | { type: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { type: 'not'; operand: FilterNode }
  | PredicateNode;

/** A condition on one attribute; `pos` is where its operator starts. */
export type PredicateNode =
  | { type: 'compare'; attribute: AttributeRef; pos: number; operator: ComparisonOperator; value: Literal }
  | { type: 'in'; attribute: AttributeRef; pos: number; negated: boolean; values: Literal[] }
  | { type: 'startsWith'; attribute: AttributeRef; pos: number; negated: boolean; value: Literal }
  | { type: 'between'; attribute: AttributeRef; pos: number; negated: boolean; low: Literal; high: Literal }
  | { type: 'isNull'; attribute: AttributeRef; pos: number; negated: boolean };

export interface OrderByItem {
  attribute: AttributeRef;
  descending: boolean;
}

export interface ParsedQuery {
  filter: FilterNode | undefined;
  /** GROUP BY attributes (Temporal allows it on CountWorkflowExecutions, for ExecutionStatus). */
  groupBy: AttributeRef[];
  orderBy: OrderByItem[];
}

// Words that cannot be bare attribute names (backtick them to use such a name).
const RESERVED = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'BETWEEN',
  'IS',
  'NULL',
  'ORDER',
  'GROUP',
  'BY',
  'STARTS_WITH',
]);

export function parseVisibilityQuery(query: string): ParsedQuery {
  return new Parser(tokenize(query)).parseQuery();
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parseQuery(): ParsedQuery {
    let filter: FilterNode | undefined;
    if (this.peek().kind !== 'end' && !this.atWord('ORDER') && !this.atWord('GROUP')) filter = this.parseOr();
    const groupBy: AttributeRef[] = [];
    if (this.atWord('GROUP')) {
      this.next();
      this.expectWord('BY');
      do groupBy.push(this.parseAttribute('an attribute name after GROUP BY'));
      while (this.acceptPunct(','));
    }
    const orderBy: OrderByItem[] = [];
    if (this.atWord('ORDER')) {
      this.next();
      this.expectWord('BY');
      do {
        const attribute = this.parseAttribute('an attribute name after ORDER BY');
        let descending = false;
        if (this.atWord('DESC')) {
          descending = true;
          this.next();
        } else if (this.atWord('ASC')) {
          this.next();
        }
        orderBy.push({ attribute, descending });
      } while (this.acceptPunct(','));
    }
    const end = this.peek();
    if (end.kind !== 'end') {
      const hint =
        filter && end.kind === 'word' && !RESERVED.has(end.text.toUpperCase())
          ? 'join conditions with AND or OR'
          : undefined;
      throw new VisibilityQueryError(`unexpected ${describe(end)}`, end.pos, hint);
    }
    return { filter, groupBy, orderBy };
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.atWord('OR')) {
      this.next();
      left = { type: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnary();
    while (this.atWord('AND')) {
      this.next();
      left = { type: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    if (this.atWord('NOT')) {
      this.next();
      return { type: 'not', operand: this.parseUnary() };
    }
    if (this.acceptPunct('(')) {
      const open = this.tokens[this.index - 1]!;
      if (this.peek().kind === 'punct' && this.peek().text === ')') {
        throw new VisibilityQueryError('empty parentheses', open.pos, 'put a condition inside');
      }
      const inner = this.parseOr();
      if (!this.acceptPunct(')')) {
        const t = this.peek();
        throw new VisibilityQueryError(
          `expected ")" to close "(" at position ${open.pos}, found ${describe(t)}`,
          t.pos,
        );
      }
      return inner;
    }
    return this.parsePredicate();
  }

  private parsePredicate(): FilterNode {
    const attribute = this.parseAttribute('a condition (attribute name, NOT or "(")');
    const t = this.peek();
    if (t.kind === 'op') {
      this.next();
      return { type: 'compare', attribute, pos: t.pos, operator: t.text, value: this.parseLiteral(t.text) };
    }
    if (t.kind === 'word') {
      const word = t.text.toUpperCase();
      let negated = false;
      if (word === 'IS') {
        this.next();
        if (this.atWord('NOT')) {
          this.next();
          negated = true;
        }
        this.expectWord('NULL');
        return { type: 'isNull', attribute, pos: t.pos, negated };
      }
      if (word === 'NOT') {
        this.next();
        negated = true;
      }
      const u = this.peek();
      const operator = u.kind === 'word' ? u.text.toUpperCase() : '';
      if (operator === 'IN') {
        this.next();
        return { type: 'in', attribute, pos: t.pos, negated, values: this.parseList() };
      }
      if (operator === 'STARTS_WITH') {
        this.next();
        const value = this.parseLiteral('STARTS_WITH');
        return { type: 'startsWith', attribute, pos: t.pos, negated, value };
      }
      if (operator === 'BETWEEN') {
        this.next();
        const low = this.parseLiteral('BETWEEN');
        this.expectWord('AND');
        const high = this.parseLiteral('BETWEEN ... AND');
        return { type: 'between', attribute, pos: t.pos, negated, low, high };
      }
      if (negated) {
        throw new VisibilityQueryError(
          `expected IN, STARTS_WITH or BETWEEN after NOT, found ${describe(u)}`,
          u.pos,
        );
      }
    }
    throw new VisibilityQueryError(
      `expected an operator after "${attribute.name}", found ${describe(t)}`,
      t.pos,
      'operators: =, !=, >, >=, <, <=, IN, NOT IN, STARTS_WITH, BETWEEN, IS NULL, IS NOT NULL',
    );
  }

  private parseList(): Literal[] {
    const open = this.peek();
    if (!this.acceptPunct('(')) {
      throw new VisibilityQueryError(`expected "(" after IN, found ${describe(open)}`, open.pos);
    }
    const values: Literal[] = [];
    if (this.peek().kind === 'punct' && this.peek().text === ')') {
      throw new VisibilityQueryError('IN needs at least one value', this.peek().pos);
    }
    do values.push(this.parseLiteral('IN'));
    while (this.acceptPunct(','));
    const close = this.peek();
    if (!this.acceptPunct(')')) {
      throw new VisibilityQueryError(`expected "," or ")" in IN list, found ${describe(close)}`, close.pos);
    }
    return values;
  }

  private parseLiteral(after: string): Literal {
    const t = this.peek();
    if (t.kind === 'string') {
      this.next();
      return { kind: 'string', value: t.text, pos: t.pos };
    }
    if (t.kind === 'number') {
      this.next();
      return { kind: 'number', text: t.text, pos: t.pos };
    }
    if (t.kind === 'word') {
      const word = t.text.toLowerCase();
      if (word === 'true' || word === 'false') {
        this.next();
        return { kind: 'bool', value: word === 'true', pos: t.pos };
      }
      if (word === 'null') {
        throw new VisibilityQueryError(
          `NULL is not a value (after ${after})`,
          t.pos,
          'use IS NULL or IS NOT NULL',
        );
      }
      throw new VisibilityQueryError(
        `expected a value after ${after}, found ${describe(t)}`,
        t.pos,
        "quote strings and timestamps, e.g. 'value'",
      );
    }
    throw new VisibilityQueryError(`expected a value after ${after}, found ${describe(t)}`, t.pos);
  }

  private parseAttribute(expected: string): AttributeRef {
    const t = this.peek();
    if (t.kind === 'quotedName' || (t.kind === 'word' && !RESERVED.has(t.text.toUpperCase()))) {
      this.next();
      return { name: t.text, pos: t.pos };
    }
    throw new VisibilityQueryError(`expected ${expected}, found ${describe(t)}`, t.pos);
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const t = this.tokens[this.index]!;
    if (t.kind !== 'end') this.index++;
    return t;
  }

  private atWord(word: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text.toUpperCase() === word;
  }

  private expectWord(word: string): void {
    const t = this.peek();
    if (!this.atWord(word)) throw new VisibilityQueryError(`expected ${word}, found ${describe(t)}`, t.pos);
    this.next();
  }

  private acceptPunct(text: '(' | ')' | ','): boolean {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === text) {
      this.next();
      return true;
    }
    return false;
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'end':
      return 'end of query';
    case 'string':
      return `string '${t.text}'`;
    case 'quotedName':
      return `\`${t.text}\``;
    case 'number':
      return `number ${t.text}`;
    default:
      return `"${t.text}"`;
  }
}
