-- Every API format (issue 7): what a listing can serve, and what a model's prices count.
-- capabilities: routing kinds (wire.snapshot.KINDS); a listing serves an endpoint only if it carries its kind.
-- price_unit: token (chat, embeddings), character (tts), audio_second (asr); prices stay micro-USD per million units.
ALTER TABLE listings ADD COLUMN capabilities text[] NOT NULL DEFAULT '{chat}'
    CHECK (capabilities <@ '{chat,embeddings,tts,asr,reasoning,image_generation,video_generation}'::text[]
           AND cardinality(capabilities) > 0);
ALTER TABLE models ADD COLUMN price_unit text NOT NULL DEFAULT 'token'
    CHECK (price_unit IN ('token', 'character', 'audio_second'));

INSERT INTO models (id, owned_by, input_price, output_price, context_length, capabilities, price_unit) VALUES
    ('openai/text-embedding-3-small', 'openai', 20000, 0, 8191, '{embeddings}', 'token'),
    ('openai/tts-1', 'openai', 15000000, 0, 4096, '{tts}', 'character'),
    ('openai/whisper-1', 'openai', 100000000, 0, 1, '{asr}', 'audio_second');
