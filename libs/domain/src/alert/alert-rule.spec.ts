import { AlertRule, ruleScopeMatches, validateAlertRule } from './alert-rule';

const overheat = {
  name: 'overheat',
  severity: 'major',
  condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } },
};

describe('alert rule validation', () => {
  describe('when the rule is valid', () => {
    it.each<[string, unknown]>([
      ['the threshold example, as written', overheat],
      ['an absence rule', { name: 'silent', severity: 'critical', condition: { type: 'absence', forSeconds: 300 } }],
      ['an absence rule on one metric', { name: 'no gps', severity: 'minor', condition: { type: 'absence', forSeconds: 60, metric: 'lat' } }],
      ['a rate of change', { name: 'pressure drop', severity: 'warning', condition: { type: 'rateOfChange', metric: 'pressure', maxPerSecond: 0.5, windowSeconds: 60 } }],
      ['a scoped rule', { ...overheat, scope: { attribute: 'firmware:1.5.0', metric: 'battery::20' } }],
      ['a threshold without clear or forSeconds', { name: 'low', severity: 'info', condition: { type: 'threshold', metric: 'battery', op: '<=', value: 10 } }],
      ['a rule naming webhook sinks', { ...overheat, notify: ['ops-pager', 'site-b2'] }],
    ])('accepts %s', (_name, body) => {
      expect(validateAlertRule(body)).toEqual({ ok: true, rule: body });
    });
  });

  describe('when a field is wrong', () => {
    it.each<[string, string, unknown]>(([
      ['an unknown operator', { ...overheat, condition: { ...overheat.condition, op: '=>' } }, 'condition.op'],
      ['an unknown severity', { ...overheat, severity: 'fatal' }, 'severity'],
      ['no name', { ...overheat, name: ' ' }, 'name'],
      ['a value that is not a number', { ...overheat, condition: { ...overheat.condition, value: '80' } }, 'condition.value'],
      ['a negative forSeconds', { ...overheat, condition: { ...overheat.condition, forSeconds: -1 } }, 'condition.forSeconds'],
      ['a clear operator that is unknown', { ...overheat, condition: { ...overheat.condition, clear: { op: '<>', value: 75 } } }, 'condition.clear.op'],
      ['an unknown condition type', { ...overheat, condition: { type: 'anomaly' } }, 'condition.type'],
      ['an absence without forSeconds', { ...overheat, condition: { type: 'absence' } }, 'condition.forSeconds'],
      ['an absence of zero seconds', { ...overheat, condition: { type: 'absence', forSeconds: 0 } }, 'condition.forSeconds'],
      ['a rate without a window', { ...overheat, condition: { type: 'rateOfChange', metric: 'p', maxPerSecond: 1 } }, 'condition.windowSeconds'],
      ['a misspelt field', { ...overheat, condition: { ...overheat.condition, forSecond: 5 } }, 'condition.forSecond'],
      ['a scope filter that is not name:min:max', { ...overheat, scope: { metric: 'battery<20' } }, 'scope.metric'],
      ['a scope filter that is not name:value', { ...overheat, scope: { attribute: 'firmware' } }, 'scope.attribute'],
      ['a clear condition that holds with the raise condition (it would flap)', { ...overheat, condition: { ...overheat.condition, clear: { op: '<', value: 85 } } }, 'condition.clear'],
      ['a clear condition != that overlaps', { ...overheat, condition: { ...overheat.condition, op: '!=', value: 1, clear: { op: '!=', value: 2 } } }, 'condition.clear'],
      ['a body that is not an object', 'overheat', '(body)'],
      ['notify that is not a list', { ...overheat, notify: 'ops-pager' }, 'notify'],
      ['a sink name with capitals', { ...overheat, notify: ['ops', 'Pager'] }, 'notify[1]'],
      ['a sink name that is a URL', { ...overheat, notify: ['https://evil.example.com/'] }, 'notify[0]'],
      ['a sink named twice', { ...overheat, notify: ['ops', 'pager', 'ops'] }, 'notify[2]'],
      ['more than 16 sinks', { ...overheat, notify: Array.from({ length: 17 }, (_, i) => `sink-${i}`) }, 'notify'],
    ] as [string, unknown, string][]).map(([name, body, field]) => [name, field, body]))('refuses %s, naming %s', (_name, field, body) => {
      const result = validateAlertRule(body);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.errors.map((error) => error.field)).toContain(field);
    });

    it('says which sink name is repeated', () => {
      expect(validateAlertRule({ ...overheat, notify: ['ops', 'ops'] })).toEqual({ ok: false, errors: [{ field: 'notify[1]', message: 'names "ops" again' }] });
    });

    it('says why, beside the field', () => {
      expect(validateAlertRule({ ...overheat, condition: { ...overheat.condition, clear: { op: '<', value: 85 } } })).toEqual({
        ok: false,
        errors: [{ field: 'condition.clear', message: expect.stringMatching(/must not hold while the alarm's condition holds .* > 80 and < 85/) }],
      });
    });
  });
});

describe('alert rule sinks', () => {
  it('an empty notify is the same as none', () => {
    const validated = validateAlertRule({ ...overheat, notify: [] });
    expect(validated.ok && validated.rule.notify).toBeUndefined();
  });
});

describe('alert rule scope', () => {
  const rule = (scope?: AlertRule['scope']): AlertRule => ({ name: 'low', severity: 'info', condition: { type: 'absence', forSeconds: 60 }, scope });
  const device = { firmware: { value: '1.5.0' }, battery: { value: 15 } };
  it.each<[string, AlertRule['scope'], boolean]>([
    ['no scope: every device', undefined, true],
    ['a matching attribute', { attribute: 'firmware:1.5.0' }, true],
    ['another attribute value', { attribute: 'firmware:2.0.0' }, false],
    ['a metric in range', { metric: 'battery::20' }, true],
    ['a metric out of range', { metric: 'battery:20:' }, false],
    ['a metric the device does not report', { metric: 'pressure::20' }, false],
    ['both, each matching', { attribute: 'firmware:1.5.0', metric: 'battery:10:20' }, true],
  ])('%s', (_name, scope, expected) => {
    expect(ruleScopeMatches(rule(scope), device)).toBe(expected);
  });
});
