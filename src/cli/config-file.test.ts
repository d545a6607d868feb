import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configFileOf, DEFAULT_CONFIG } from './config-file.js';

describe('the config file a command reads', () => {
  const none = () => false;
  const all = () => true;
  it('takes --config first, then OPENBAR_CONFIG, then the default when it exists', () => {
    assert.equal(configFileOf({ config: '/a.conf' }, { OPENBAR_CONFIG: '/b.conf' }, all), '/a.conf');
    assert.equal(configFileOf({}, { OPENBAR_CONFIG: '/b.conf' }, all), '/b.conf');
    assert.equal(configFileOf({}, {}, all), DEFAULT_CONFIG);
    assert.equal(configFileOf({}, { OPENBAR_CONFIG: '' }, all), DEFAULT_CONFIG);
  });
  it('makes a relative path absolute, and gives none when nothing is given and the default is missing', () => {
    assert.equal(configFileOf({ config: 'x.conf' }, {}, none), path.resolve('x.conf'));
    assert.equal(configFileOf({}, {}, none), undefined);
  });
});
