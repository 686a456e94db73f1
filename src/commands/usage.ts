/**
 * The text `colo --help` and `colo <command> --help` print: one place for what each
 * command takes, kept next to the commands that parse those flags.
 */

const CONFIG_FLAGS = `  --config FILE        JSON config file (or COLO_CONFIG)`;
const SERVER_FLAGS = `${CONFIG_FLAGS}
  --host HOST          listen address (default 127.0.0.1; or COLO_HOST)
  --port PORT          listen port (default 8080; 0 picks one; or COLO_PORT)
  --model SOURCE       serve this model instead of the configured ones (name, path, hf:, synthetic:)
  --log-level LEVEL    debug | info | warn | error (or COLO_LOG_LEVEL)`;

export const COMMAND_USAGE: Readonly<Record<string, string>> = {
  serve: `usage: colo serve [flags]

Start the server: WebSocket /v1/ws and the OpenAI-compatible HTTP API.

${SERVER_FLAGS}
`,
  models: `usage: colo models [flags]

List the configured models and the manifest, with what is on disk.

${SERVER_FLAGS}
`,
  pull: `usage: colo pull SPEC [--config FILE] [--offline] [--base-url URL] [--sha256 HEX]

Fetch a model into engine.cacheDir: a manifest name, hf:owner/repo/file.gguf or https://...
(sha256-checked, resumed with a Range request when the connection drops), a local path,
or synthetic:<0.5b|1b|3b|8b|tiny>-<q4_0|q8_0|f16> (generated).

${CONFIG_FLAGS}
  --offline            never download (or models.offline in the config)
  --base-url URL       Hugging Face mirror for hf: sources (or models.hfBaseUrl)
  --sha256 HEX         expected sha256 of the file (or models.sha256Pins[SPEC])
`,
  audit: `usage: colo audit [--config FILE] [--dir DIR] [--since ISO|ms] [--until ISO|ms] [--tenant T]
                  [--key-id K] [--status ok|error] [--model M] [--limit 100] [--order desc|asc] [--json]

Print matching audit records, newest first: a table, or one JSON line each with --json.
`,
  'train-classifier': `usage: colo train-classifier --train CSV --valid CSV --out DIR [--seed 1] [--epochs N]
                            [--calibrate dev.csv] [--eval more.csv ...] [--lexicon-prior X] [--no-lexicon]

Train the hashed-feature logistic-regression sentiment classifier and write an ONNX model.
CSV columns: text,label (0 bearish, 1 bullish, 2 neutral). --calibrate fits the
temperature on a dev set; --eval reports on more sets; --lexicon-prior weighs the
financial lexicon prior; --no-lexicon trains without it.
`,
  replay: `usage: colo replay --news tape.jsonl [--url ws://127.0.0.1:8080/v1/ws] [--speed 0]
                   [--skill sentiment] [--model M] [--api-key KEY] [--deadline-ms 1000]
                   [--prices prices.csv] [--commission-bps 0.5] [--slippage-bps 1] [--out FILE]
       colo replay --make-example DIR [--data valid.csv]

Play a news tape into a running Colo and report latency and, with --prices, an event study.
`,
};

export const HELP = `colo — low-latency LLM inference runtime for trading

usage: colo <command> [flags]      colo <command> --help for a command's flags

commands:
  serve                start the server (default)
  models               list configured models and the manifest, with what is on disk
  pull SPEC            fetch a model: a manifest name, hf:owner/repo/file.gguf (sha256-checked) or
                       synthetic:<0.5b|1b|3b|8b|tiny>-<q4_0|q8_0|f16> (generated)
  audit                query the audit log
  train-classifier     train an ONNX sentiment classifier
  replay               play a news tape into a running Colo
  help [COMMAND]       this text, or a command's

flags (serve, models):
${SERVER_FLAGS}
`;

/** Whether the flags ask for help (before any `--` that ends the flags). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}
