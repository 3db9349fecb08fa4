/**
 * Checks on the SVG and HTML the reports write: XML well-formedness as far as those files need, and
 * the rows of a captioned HTML table as text.
 */
import * as assert from 'uvu/assert';

/**
 * Checks XML well-formedness as far as these files need: one root, properly nested and closed tags,
 * quoted attributes, no raw '<' or stray '&' in text or attribute values. A leading XML declaration or
 * HTML doctype is skipped, and <style> text is taken as text (it must hold no '<' or '>' either). Returns
 * the root element's name.
 */
export function assertWellFormedXml(xml: string, what: string): string {
  const body = xml.replace(/^<\?xml [^?]*\?>\s*/, '').replace(/^<!DOCTYPE html>\s*/, '');
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  const stack: string[] = [];
  let root = '';
  let last = 0;
  for (let m = token.exec(body); m; m = token.exec(body)) {
    const between = body.slice(last, m.index);
    assert.not.ok(/[<>]/.test(between), `${what}: stray markup near ${JSON.stringify(between.slice(0, 40))}`);
    assert.not.ok(/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(between + m[3]), `${what}: unescaped & near ${JSON.stringify(m[0].slice(0, 60))}`);
    last = token.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) assert.is(stack.pop(), name, `${what}: </${name}> closes the wrong element`);
    else if (!selfClose) {
      if (!stack.length) {
        assert.is(root, '', `${what}: more than one root element`);
        root = name!;
      }
      stack.push(name!);
    } else if (!stack.length) root = root || name!;
  }
  assert.is(stack.length, 0, `${what}: unclosed ${stack.join(', ')}`);
  assert.is(body.slice(last).trim(), '', `${what}: text after the root element`);
  return root;
}

/** Text of markup: tags dropped, the five XML entities decoded. */
export function textOf(html: string): string {
  return html.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** The body rows of the first table whose caption starts with `caption`, each as its cells' text. */
export function tableRows(html: string, caption: string): string[][] {
  const tables = html.split('<table>').slice(1).map((t) => t.slice(0, t.indexOf('</table>')));
  const t = tables.find((x) => textOf(x.slice(0, x.indexOf('</caption>'))).startsWith(caption));
  assert.ok(t, `a table captioned "${caption}..."`);
  const body = t!.slice(t!.indexOf('<tbody>'));
  return [...body.matchAll(/<tr>(.*?)<\/tr>/gs)].map((r) => [...r[1]!.matchAll(/<td>(.*?)<\/td>/gs)].map((c) => textOf(c[1]!)));
}
