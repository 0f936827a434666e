-- Substitution fingerprints for the seeded chat models (README "Admission", `fingerprint` check).
-- `prompt_tokens: [lo, hi]` is the prompt tokens an upstream serving the model reports for the
-- fixed probe prompt (`proxy.probe.checks.PROBE_PROMPT`, 110 characters of English, French, Chinese
-- and digits). Derivation: our tokenizer (`proxy.billing.tokenizer.count_tokens`, cl100k_base for
-- every family) counts it as 45 tokens; these families' own tokenizers differ by roughly +-15 %
-- (38..52); the chat template the provider wraps one user message in adds 0..20 tokens (OpenAI-style
-- 7, DeepSeek about 4, Qwen/ChatML about 9, GLM about 5, a provider's default system preamble
-- more). So 38..72 for every seeded family. A model with a 32k-vocabulary tokenizer (Llama 2,
-- Mistral 7B v0.1: byte fallback for the Chinese and accented characters) reports well above it.
-- Operators change it per model with PATCH /api/admin/models/{owner}/{name} {"probe_expect": ...}.
UPDATE models SET probe_expect = '{"prompt_tokens": [38, 72]}'::jsonb
WHERE id IN ('deepseek/deepseek-chat', 'deepseek/deepseek-reasoner', 'qwen/qwen3-235b-a22b', 'qwen/qwen3-30b-a3b',
             'moonshot/kimi-k2', 'zhipu/glm-5-0131', 'doubao/doubao-1.5-pro-256k', 'minimax/minimax-m2.5',
             'minimax/minimax-m2.5-highspeed')
  AND probe_expect = '{}'::jsonb;
