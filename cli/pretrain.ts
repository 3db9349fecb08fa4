/** `esm-kn pretrain`: masked-language-model training as ESM-2's (train/pretrain.ts does the work). */
import { pretrain, resumePretrain } from '../train/pretrain.js';
import { parseArgs } from './args.js';
import { COMMON_OPTIONS, asUsage, cliControl, commonOptions, printSummary, resumeFolder } from './finetune.js';

export const PRETRAIN_USAGE = `esm-kn pretrain (--backbone MODEL | --size NAME | --layers N --dim D --heads H) --out DIR
                 [--task ec+non|ec|enzyme] [--data FILE] [--split-seed 0] [--epochs 3 | --max-steps N]
                 [--lr 4e-4] [--warmup N] [--decay linear|cosine|constant] [--weight-decay 0.01] [--clip 1.0]
                 [--batch-size 16 | --tokens-per-batch N] [--accum 1] [--max-len 1022] [--eval-every 0]
                 [--patience 0] [--save-every 200] [--seed 0] [--stop-after N] [--quiet]
esm-kn pretrain --resume DIR [--stop-after N] [--quiet]
  Masked-language modelling as ESM-2 was trained (15% of residues chosen; 80% <mask>, 10% random, 10%
  kept; cross-entropy on the chosen positions) on the sequences of the task's training split (default
  ec+non: every length-matched sequence). Validation perplexity (fixed masks) picks DIR/best. The
  result is a backbone for 'esm-kn finetune --backbone DIR/best'. Other options as for finetune.`;

/** Runs the command. */
export async function pretrainCommand(argv: readonly string[]): Promise<void> {
  const p = parseArgs(argv, COMMON_OPTIONS, 'pretrain');
  const { control, finish } = cliControl(p, 'pretrain', argv);
  const result = await asUsage('pretrain', () => {
    if (p.values.has('resume')) return resumePretrain(resumeFolder(p, 'pretrain'), control);
    // ESM-2's peak learning rate was 4e-4.
    return pretrain(commonOptions(p, 'pretrain', { task: 'ec+non', lr: () => 4e-4 }), control);
  });
  finish();
  printSummary('pretrain', result, 'perplexity', (s) => -s);
}
