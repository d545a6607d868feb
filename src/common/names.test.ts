import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkName, relativePathProblem, safeJoin } from './names.js';

describe('names', () => {
  it('accepts plain names and refuses separators, .. and odd characters', () => {
    for (const ok of ['pg_default', '000000010000000000000001', 'Data', 'a.b', 'x:y@z'])
      assert.equal(checkName('n', ok), ok);
    for (const bad of ['', '..', 'a/b', 'a\\b', '.hidden', 'a..b', 'sp ace', 'x'.repeat(129)])
      assert.throws(() => checkName('n', bad));
  });
  it('keeps stream paths inside their directory', () => {
    assert.equal(safeJoin('/r', 'base/1/2'), '/r/base/1/2');
    for (const bad of [
      '../x',
      '/etc/passwd',
      'a/../../x',
      '',
      'a/../b',
      'a//b',
      './a',
      'a/',
      'a/.',
      'a\0b',
      'x'.repeat(256),
      'a/'.repeat(2048) + 'b',
    ]) {
      assert.throws(() => safeJoin('/r', bad), /unsafe path/, JSON.stringify(bad).slice(0, 40));
    }
    assert.equal(relativePathProblem('a/../b'), "not normalised (a '..' component)");
    assert.equal(relativePathProblem(7), 'not a string');
  });
});
