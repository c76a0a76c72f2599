// Checks shared by the journeys: axe-core on the page as it is, and that a
// view fits its window without scrolling sideways.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const axeSource = /** @type {{ source: string }} */ (createRequire(import.meta.url)('axe-core')).source;
const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/**
 * Runs axe on the page and fails on serious or critical violations; the
 * rest are reported as diagnostics.
 * @param {import('node:test').TestContext} t
 * @param {import('playwright-core').Page} page
 */
export async function assertAccessible(t, page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(
    async (runOnly) => {
      // @ts-ignore axe is injected above
      const res = await window.axe.run(document, { runOnly: { type: 'tag', values: runOnly }, resultTypes: ['violations'] });
      return res.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ')}`),
      }));
    },
    tags,
  );
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of violations.filter((v) => !bad.includes(v))) {
    t.diagnostic(`${v.impact}: ${v.id} (${v.help}) on ${v.nodes.length} element(s)`);
  }
  assert.deepEqual(bad, [], `serious or critical accessibility violations:\n${JSON.stringify(bad, null, 2)}`);
}

/**
 * Fails when the page scrolls sideways at its current size (the views must
 * fit from 900x600 up).
 * @param {import('playwright-core').Page} page
 */
export async function assertFits(page, what) {
  const over = await page.evaluate(() => {
    const out = [];
    for (const el of [document.documentElement, ...document.querySelectorAll('main, nav, footer')]) {
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName.toLowerCase()} ${el.scrollWidth} > ${el.clientWidth}`);
    }
    return out;
  });
  assert.deepEqual(over, [], `${what} scrolls sideways at ${JSON.stringify(page.viewportSize())}`);
}


/**
 * What the page shows and says: every visible text node, every visible
 * element's own text, and the names people read or hear (aria-label,
 * title, placeholder, alt, aria-valuetext). Options that name a language
 * in itself (lang set, as the language picker's) are left out.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<string[]>}
 */
export async function shownTexts(page) {
  return page.evaluate(() => {
    const out = new Set();
    const attrs = ['aria-label', 'title', 'placeholder', 'alt', 'aria-valuetext', 'aria-description'];
    for (const el of document.body.querySelectorAll('*')) {
      if (el.closest('script, style, [aria-hidden="true"]') || (el.tagName === 'OPTION' && el.hasAttribute('lang'))) continue;
      const visible = el.tagName === 'OPTION' ? !!el.closest('select')?.checkVisibility() : el.checkVisibility();
      if (!visible) continue;
      let own = '';
      for (const n of el.childNodes) {
        if (n.nodeType !== Node.TEXT_NODE) continue;
        const text = (n.textContent ?? '').trim();
        own += n.textContent ?? '';
        if (text) out.add(text);
      }
      if (own.trim()) out.add(own.replace(/\s+/g, ' ').trim());
      for (const a of attrs) {
        const v = el.getAttribute(a)?.trim();
        if (v) out.add(v);
      }
    }
    return [...out];
  });
}

/**
 * Fails when the page shows an English UI string that the language says
 * otherwise (see englishOnly in catalogs.mjs).
 * @param {import('playwright-core').Page} page
 * @param {{ key: string, english: string, re: RegExp }[]} english
 */
export async function assertNoEnglish(page, english, what) {
  const texts = await shownTexts(page);
  const found = [];
  for (const text of texts) {
    for (const e of english) if (e.re.test(text)) found.push(`"${text}" (${e.key}: "${e.english}")`);
  }
  assert.deepEqual(found, [], `${what} shows English UI text`);
  return texts;
}

/**
 * Fails when a button's, a label's or a heading's text spills out of it
 * (long German words at 900x600): its content is wider than its box.
 * @param {import('playwright-core').Page} page
 */
export async function assertNoSpill(page, what) {
  const spilled = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('button, label, h1, h2, legend, summary, th, [role="tab"]')) {
      if (!el.checkVisibility()) continue;
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName.toLowerCase()} "${el.textContent?.trim().slice(0, 40)}" ${el.scrollWidth} > ${el.clientWidth}`);
      const r = el.getBoundingClientRect();
      if (r.right > document.documentElement.clientWidth + 1) out.push(`${el.tagName.toLowerCase()} "${el.textContent?.trim().slice(0, 40)}" ends at ${Math.round(r.right)} px, past the window`);
    }
    return out;
  });
  assert.deepEqual(spilled, [], `${what}: text spills out of its box at ${JSON.stringify(page.viewportSize())}`);
}
