// Renders a chat conversation (OpenAI messages): roles, text, tool calls with their arguments,
// tool results. Model output is shown as text only (never as HTML).
import { h } from './ui.js';

function text(content) {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === 'string' ? p : p?.text ?? JSON.stringify(p))).join('');
  return JSON.stringify(content);
}

export function renderMessages(messages) {
  return (Array.isArray(messages) ? messages : []).map((m) => h('div', { class: `msg ${m.role}`, 'data-role': m.role },
    h('div', { class: 'role' }, m.role, m.name ? ` · ${m.name}` : '', m.tool_call_id ? ` · result of ${m.tool_call_id}` : ''),
    text(m.content) ? h('div', { class: 'content' }, text(m.content)) : null,
    (m.tool_calls || []).map((c) => h('div', { class: 'tool-call' },
      h('span', { class: 'muted' }, 'tool call '), h('code', {}, c.function?.name ?? '?'), c.id ? h('span', { class: 'muted' }, ` (${c.id})`) : '',
      h('pre', {}, prettyArgs(c.function?.arguments))))));
}

function prettyArgs(a) {
  if (typeof a !== 'string') return JSON.stringify(a, null, 2);
  try {
    return JSON.stringify(JSON.parse(a), null, 2);
  } catch {
    return a;
  }
}
