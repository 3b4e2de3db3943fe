// The playground: chat with a deployed model through the OpenAI routes (/v1/models,
// /v1/chat/completions with stream: true), the way any OpenAI client would.
import { api, stream } from './api.js';
import { renderMessages } from './conversation.js';
import { clear, errorBox, h } from './ui.js';

export async function playgroundPage(main, _m, params) {
  const models = (await api('GET', '/v1/models')).data || [];
  const wanted = params.get('model');
  const select = h('select', { id: 'model' }, models.map((m) => h('option', { value: m.id, selected: m.id === wanted }, m.id)));
  const system = h('textarea', { id: 'system', rows: 2, placeholder: 'system prompt (optional)' });
  const temperature = h('input', { id: 'temperature', type: 'number', step: 'any', value: 0, min: 0, style: { width: '70px' } });
  const maxTokens = h('input', { id: 'max-tokens', type: 'number', value: 64, min: 1, style: { width: '70px' } });
  const log = h('div', { id: 'chat' });
  const input = h('textarea', { id: 'prompt', rows: 3, placeholder: 'your message' });
  const err = h('div');
  const send = h('button', { type: 'submit', class: 'primary', id: 'send' }, 'Send');
  const messages = [];
  const render = (live) => clear(log, renderMessages(live ? [...messages, live] : messages));
  // Ctrl+Enter (⌘+Enter) sends, as in most chat boxes; Enter alone is a new line
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) input.form?.requestSubmit();
  });
  const onSubmit = async (ev) => {
    ev.preventDefault();
    clear(err);
    const text = input.value;
    if (!text.trim() || !select.value) return;
    messages.push({ role: 'user', content: text });
    input.value = '';
    const reply = { role: 'assistant', content: '' };
    render(reply);
    send.disabled = true;
    const body = { model: select.value, messages: [...(system.value.trim() ? [{ role: 'system', content: system.value }] : []), ...messages], stream: true, temperature: Number(temperature.value), max_tokens: Number(maxTokens.value) };
    try {
      let finish = null;
      await stream('/v1/chat/completions', (_e, data) => {
        if (typeof data !== 'object' || !data) return;
        const c = data.choices?.[0];
        if (c?.delta?.content) reply.content += c.delta.content;
        if (c?.finish_reason) finish = c.finish_reason;
        render(reply);
      }, { method: 'POST', body }).done;
      messages.push(reply);
      render();
      log.dataset.finish = finish ?? '';
      log.dataset.turns = String(messages.filter((m) => m.role === 'assistant').length);
    } catch (e) {
      messages.pop();
      render();
      err.append(errorBox(e));
    } finally {
      send.disabled = false;
    }
  };
  main.append(h('div', { class: 'chat' },
    h('h1', {}, 'Playground'),
    models.length ? null : h('p', { class: 'muted', id: 'no-models' }, 'No deployment yet: open a completed job and press Deploy.'),
    h('div', { class: 'row' }, 'model', select, 'temperature', temperature, 'max tokens', maxTokens, h('button', { type: 'button', onclick: () => { messages.length = 0; render(); } }, 'Clear')),
    system, log,
    h('form', { onsubmit: onSubmit }, input, h('div', { class: 'row' }, send)), err));
}
