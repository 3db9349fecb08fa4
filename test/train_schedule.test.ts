/**
 * Learning-rate schedules at chosen steps (warm-up, linear, cosine, constant), the default warm-up,
 * and the checks that reject bad schedules. Pure code, no GPU.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Schedule, checkSchedule, defaultWarmup, lrAt } from '../train/schedule.js';

const lin: Schedule = { lr: 1e-3, warmupSteps: 10, totalSteps: 110, decay: 'linear' };
const cos: Schedule = { ...lin, decay: 'cosine' };
const flat: Schedule = { ...lin, decay: 'constant' };
const none: Schedule = { lr: 2e-4, warmupSteps: 0, totalSteps: 4, decay: 'linear' };

// [schedule, step, expected learning rate]
const CASES: [string, Schedule, number, number][] = [
  ['warm-up starts above 0', lin, 0, 1e-4],
  ['warm-up is linear', lin, 4, 5e-4],
  ['warm-up reaches the peak on its last step', lin, 9, 1e-3],
  ['decay starts at the peak', lin, 10, 1e-3],
  ['linear half-way', lin, 60, 5e-4],
  ['linear last step stays above 0', lin, 109, 1e-5],
  ['linear past the end is 0', lin, 110, 0],
  ['cosine half-way', cos, 60, 5e-4],
  ['cosine quarter-way', cos, 35, 1e-3 * 0.5 * (1 + Math.cos(Math.PI / 4))],
  ['cosine shares the warm-up', cos, 4, 5e-4],
  ['constant after warm-up', flat, 100, 1e-3],
  ['no warm-up: step 0 at the peak', none, 0, 2e-4],
  ['no warm-up: linear step 3 of 4', none, 3, 5e-5],
];

for (const [name, s, step, want] of CASES) {
  test(`schedule: ${name} (step ${step})`, () => {
    const got = lrAt(s, step);
    assert.ok(Math.abs(got - want) <= 1e-12, `lr at step ${step}: ${got}, expected ${want}`);
  });
}

test('schedule: linear decay is monotone and positive over the run', () => {
  for (let s = 10; s < 109; s++) assert.ok(lrAt(lin, s + 1) < lrAt(lin, s) && lrAt(lin, s + 1) > 0, `step ${s}`);
});

test('schedule: default warm-up is 6% of the run', () => {
  assert.equal([defaultWarmup(100), defaultWarmup(1000), defaultWarmup(5)], [6, 60, 0]);
});

test('schedule: bad schedules are errors naming the field', () => {
  const bad: [Schedule, RegExp][] = [
    [{ ...lin, lr: 0 }, /learning rate 0/],
    [{ ...lin, totalSteps: 0 }, /total steps 0/],
    [{ ...lin, warmupSteps: 111 }, /warm-up of 111 steps/],
    [{ ...lin, decay: 'step' as Schedule['decay'] }, /decay 'step'/],
  ];
  for (const [s, message] of bad) assert.throws(() => checkSchedule(s), message);
  checkSchedule(lin);
});

test.run();
