import { describe, expect, it } from 'vitest';
import { escapeHtml, html, joinHtml, raw, SafeHtml } from '../../src/reports/html';
import { renderPage } from '../../src/reports/page';

describe('html tagged template', () => {
  it('escapes interpolated strings and numbers, in content and in quoted attributes', () => {
    const name = `<script>alert("x")</script> & 'y'`;
    expect(html`<td title="${name}">${name}</td>`.markup).toBe(
      '<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;</td>',
    );
    expect(html`<b>${3.5}</b>`.markup).toBe('<b>3.5</b>');
  });

  it('keeps nested fragments as markup and escapes strings inside them once', () => {
    const cell = (v: string) => html`<td>${v}</td>`;
    expect(html`<tr>${cell('a<b')}</tr>`.markup).toBe('<tr><td>a&lt;b</td></tr>');
  });

  it('renders arrays item by item and drops null, undefined and false', () => {
    const items = ['x', '<y>'].map((v) => html`<li>${v}</li>`);
    expect(html`<ul>${items}</ul>`.markup).toBe('<ul><li>x</li><li>&lt;y&gt;</li></ul>');
    expect(html`<p>${null}${undefined}${false}${['<', html`<i></i>`]}</p>`.markup).toBe('<p>&lt;<i></i></p>');
  });

  it('passes raw markup through and joins with a separator', () => {
    expect(html`${raw('<hr>')}`.markup).toBe('<hr>');
    expect(joinHtml(['a&b', html`<br>`], '\n').markup).toBe('a&amp;b\n<br>');
    expect(String(html`<i>${'&'}</i>`)).toBe('<i>&amp;</i>');
    expect(html`x` instanceof SafeHtml).toBe(true);
  });

  it('escapeHtml replaces the five special characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});

describe('report page shell', () => {
  it('is a script-free document with an escaped title, the inline style and a CSP forbidding scripts', () => {
    const page = renderPage({ title: 'a <b> title', style: 'body{color:red}', body: html`<h1>${'<x>'}</h1>` });
    expect(page.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(page).toContain('<title>a &lt;b&gt; title</title>');
    expect(page).toContain('<style>body{color:red}</style>');
    expect(page).toContain('<h1>&lt;x&gt;</h1>');
    expect(page).toContain(`content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:"`);
    expect(page).not.toMatch(/<script|<link|src=/i);
  });
});
