#!/usr/bin/env node
/**
 * The `esm-kn` command. Subcommands live in cli/. User errors (bad files, bad options, bad
 * shapes) print one line and exit non-zero; ESMKN_DEBUG=1 adds the stack trace.
 */
import { NoAdapterError, ShapeError } from '../engine/index.js';
import { UsageError } from './args.js';
import { ATTRIBUTE_USAGE, attributeCommand } from './attribute.js';
import { BASELINE_USAGE, baselineCommand } from './baseline.js';
import { CURVES_USAGE, curvesCommand } from './curves.js';
import { EVALUATE_USAGE, evaluateCommand } from './evaluate.js';
import { EXPERIMENT_USAGE, experimentCommand } from './experiment.js';
import { EXPORT_USAGE, exportCommand } from './export.js';
import { EXTRACT_USAGE, extract } from './extract.js';
import { FINETUNE_USAGE, finetuneCommand } from './finetune.js';
import { NEURONS_USAGE, neuronsCommand } from './neurons.js';
import { PREDICT_USAGE, predictCommand } from './predict.js';
import { PRETRAIN_USAGE, pretrainCommand } from './pretrain.js';
import { SERVE_USAGE, serveCommand } from './serve.js';
import { FormatError } from '../io/errors.js';

const COMMANDS: Record<string, { run: (argv: readonly string[]) => Promise<void>; usage: string }> = {
  extract: { run: extract, usage: EXTRACT_USAGE },
  predict: { run: predictCommand, usage: PREDICT_USAGE },
  attribute: { run: attributeCommand, usage: ATTRIBUTE_USAGE },
  export: { run: exportCommand, usage: EXPORT_USAGE },
  finetune: { run: finetuneCommand, usage: FINETUNE_USAGE },
  pretrain: { run: pretrainCommand, usage: PRETRAIN_USAGE },
  evaluate: { run: evaluateCommand, usage: EVALUATE_USAGE },
  baseline: { run: baselineCommand, usage: BASELINE_USAGE },
  curves: { run: curvesCommand, usage: CURVES_USAGE },
  neurons: { run: neuronsCommand, usage: NEURONS_USAGE },
  experiment: { run: experimentCommand, usage: EXPERIMENT_USAGE },
  serve: { run: serveCommand, usage: SERVE_USAGE },
};

const USAGE = `usage: esm-kn COMMAND ...\n\n${Object.values(COMMANDS).map((c) => c.usage).join('\n\n')}`;

async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  const c = COMMANDS[cmd];
  if (!c) throw new UsageError(`unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(c.usage);
    return 0;
  }
  await c.run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const err = e as Error;
    const user = err instanceof UsageError || err instanceof FormatError || err instanceof ShapeError || err instanceof NoAdapterError;
    console.error(`esm-kn: ${err?.message ?? String(e)}`);
    if (process.env.ESMKN_DEBUG === '1' && err?.stack) console.error(err.stack);
    process.exit(err instanceof UsageError ? 2 : user ? 1 : 3);
  },
);
