/** The ESM-2 alphabet and batch encoding: fair-esm's token order, special tokens in text, case, limits. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CLS, decodeTokens, encodeBatch, encodeSequence, EOS, ESM2_TOKENS, MASK, MAX_RESIDUES, PAD, tokenizeResidues, UNK,
} from '../model/tokenizer.js';
import { throwsFormat } from './lib/io_fixtures.js';

test('alphabet: 33 tokens in fair-esm order', () => {
  assert.equal(ESM2_TOKENS.join(' '), '<cls> <pad> <eos> <unk> L A G V S E R T I D P K Q N F Y M H W C X B U Z O . - <null_1> <mask>');
  assert.equal([CLS, PAD, EOS, UNK, MASK], [0, 1, 2, 3, 32]);
  assert.is(MAX_RESIDUES, 1022);
});

test('a sequence becomes <cls> residues <eos>; lower case is upper-cased', () => {
  assert.equal(Array.from(encodeSequence('MKtay')), [0, 20, 15, 11, 5, 19, 2]);
  assert.equal(Array.from(encodeSequence('XBUZO.-')), [0, 24, 25, 26, 27, 28, 29, 30, 2]);
});

test('special tokens written in a sequence are single tokens; whitespace is ignored', () => {
  const ids = tokenizeResidues('MK<mask>A <MASK>\t<unk><cls><eos><pad><null_1>');
  assert.equal(Array.from(ids), [20, 15, MASK, 5, MASK, UNK, CLS, EOS, PAD, 31]);
  assert.is(decodeTokens(encodeSequence('m<mask>k')), '<cls>M<mask>K<eos>');
});

test('an unknown character names the record, position and character; or maps to <unk>', async () => {
  await throwsFormat(() => tokenizeResidues('MKJA', 'sp|P1'), /^record 'sp\|P1': unknown character 'J' at residue 3$/);
  await throwsFormat(() => tokenizeResidues('M<mask>K*', 'x', { file: 'in.fasta' }), /^in\.fasta: record 'x': unknown character '\*' at residue 4$/);
  await throwsFormat(() => tokenizeResidues('M<foo>', 'x'), /unknown character '<' \(not a special token such as <mask>\) at residue 2/);
  await throwsFormat(() => tokenizeResidues('M\u00e9', 'x'), /unknown character U\+00E9 at residue 2/);
  assert.equal(Array.from(tokenizeResidues('MJ*', 'x', { unknown: 'unk' })), [20, UNK, UNK]);
});

test('1022 residues pass; longer is an error naming record and length, or truncated on request', async () => {
  assert.is(encodeSequence('A'.repeat(1022)).length, 1024);
  await throwsFormat(() => encodeSequence('A'.repeat(1023), 'long'), /record 'long': 1023 residues, more than the 1022 ESM-2 accepts \(truncate keeps the first 1022\)/);
  const cut = encodeSequence('M' + 'A'.repeat(1500), 'long', { truncate: true });
  assert.is(cut.length, 1024);
  assert.equal([cut[0], cut[1], cut[2], cut[1022], cut[1023]], [CLS, 20, 5, 5, EOS]);
  assert.is(encodeSequence('<mask>'.repeat(3), 'm', { maxResidues: 2, truncate: true }).length, 4);
});

test('batches are right-padded with <pad> and report lengths', () => {
  const b = encodeBatch([{ label: 'a', sequence: 'MK' }, { label: 'b', sequence: 'A<mask>GV' }, { label: 'c', sequence: 'W' }]);
  assert.is(b.batch, 3);
  assert.is(b.length, 6);
  assert.equal(Array.from(b.lengths), [4, 6, 3]);
  assert.equal(Array.from(b.tokens), [
    0, 20, 15, 2, 1, 1,
    0, 5, 32, 6, 7, 2,
    0, 22, 2, 1, 1, 1,
  ]);
  const empty = encodeBatch([]);
  assert.equal([empty.batch, empty.length, empty.tokens.length], [0, 0, 0]);
});

test.run();
