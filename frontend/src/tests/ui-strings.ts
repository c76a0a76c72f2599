// The lint behind "no hard-coded user-visible text in a component": it
// reads a .svelte file's template (svelte/compiler) and reports text nodes
// with letters, and aria-label, title, placeholder, alt (and the like)
// attributes whose text is not a t(...) call. In expressions, a string
// literal with letters that can reach the page is reported too (one
// compared with, passed to a function, or used as a key is not).
import { parse } from 'svelte/compiler';

/** Attributes whose values people read or hear. */
export const textAttributes = new Set(['aria-label', 'aria-description', 'aria-valuetext', 'aria-roledescription', 'title', 'placeholder', 'alt', 'label']);

export interface Finding {
  line: number;
  what: string;
  text: string;
}

const letters = /\p{L}/u;
const comparisons = new Set(['===', '!==', '==', '!=', 'in', 'instanceof']);

type Node = { type: string; start?: number; [k: string]: unknown };

function lineOf(source: string, at: number | undefined): number {
  return at === undefined ? 0 : source.slice(0, at).split('\n').length;
}

/** String literals in an expression that can end up as text. */
function literals(expr: Node, out: Node[]): void {
  switch (expr.type) {
    case 'Literal':
      if (typeof expr.value === 'string' && letters.test(expr.value)) out.push(expr);
      return;
    case 'TemplateLiteral':
      for (const q of expr.quasis as Node[]) if (letters.test((q.value as { cooked: string }).cooked ?? '')) out.push(q);
      for (const e of expr.expressions as Node[]) literals(e, out);
      return;
    case 'ConditionalExpression':
      literals(expr.consequent as Node, out);
      literals(expr.alternate as Node, out);
      return;
    case 'LogicalExpression':
      literals(expr.left as Node, out);
      literals(expr.right as Node, out);
      return;
    case 'BinaryExpression':
      if (comparisons.has(expr.operator as string)) return;
      literals(expr.left as Node, out);
      literals(expr.right as Node, out);
      return;
    case 'ArrayExpression':
      for (const e of expr.elements as (Node | null)[]) if (e) literals(e, out);
      return;
    case 'CallExpression':
      // t('key') and helpers take keys and data; what a call returns is
      // the callee's business (its module is linted by review). The
      // object a method is called on may be text, as in ['a', b].join().
      if ((expr.callee as Node).type === 'MemberExpression') literals((expr.callee as Node).object as Node, out);
      return;
    case 'SequenceExpression':
      for (const e of expr.expressions as Node[]) literals(e, out);
      return;
    default:
      return;
  }
}

/** The hard-coded user-visible strings in a component's template. */
export function hardCodedStrings(source: string, filename = 'component.svelte'): Finding[] {
  const ast = parse(source, { modern: true, filename }) as unknown as { fragment: Node };
  const found: Finding[] = [];
  const report = (node: Node, what: string, text: string) => found.push({ line: lineOf(source, node.start), what, text: text.trim() });

  function expression(expr: Node, what: string) {
    const hits: Node[] = [];
    literals(expr, hits);
    for (const h of hits) report(h, what, String(h.type === 'Literal' ? h.value : (h.value as { cooked: string }).cooked));
  }

  function attribute(attr: Node) {
    if (attr.type !== 'Attribute' || !textAttributes.has(String(attr.name))) return;
    const value = attr.value;
    const parts = (Array.isArray(value) ? value : value && typeof value === 'object' ? [value] : []) as Node[];
    for (const p of parts) {
      if (p.type === 'Text' && letters.test(String(p.data))) report(p, `${attr.name} attribute`, String(p.data));
      else if (p.type === 'ExpressionTag') expression(p.expression as Node, `${attr.name} attribute`);
    }
  }

  function fragment(f: unknown) {
    if (!f || typeof f !== 'object') return;
    for (const n of (f as { nodes: Node[] }).nodes ?? []) node(n);
  }

  function node(n: Node) {
    switch (n.type) {
      case 'Text':
        if (letters.test(String(n.data))) report(n, 'text', String(n.data));
        return;
      case 'ExpressionTag':
        expression(n.expression as Node, 'text expression');
        return;
      case 'Comment':
        return;
      case 'IfBlock':
        fragment(n.consequent);
        fragment(n.alternate);
        return;
      case 'EachBlock':
        fragment(n.body);
        fragment(n.fallback);
        return;
      case 'AwaitBlock':
        fragment(n.pending);
        fragment(n.then);
        fragment(n.catch);
        return;
      case 'KeyBlock':
        fragment(n.fragment);
        return;
      case 'SnippetBlock':
        fragment(n.body);
        return;
      default:
        // Elements, components and svelte:* elements.
        for (const a of (n.attributes as Node[] | undefined) ?? []) attribute(a);
        if (n.name === 'style' || n.name === 'script') return;
        fragment(n.fragment);
    }
  }

  fragment(ast.fragment);
  return found;
}
