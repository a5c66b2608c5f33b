import { loadConfig } from '@fleetstream/config';
import { ConfiguredWebhookSinks, sinkIdOf } from './webhook-sinks';

const SECRET = '0123456789abcdef';

describe('ALERT_WEBHOOKS', () => {
  it('is no sink by default', () => expect(loadConfig({}).ALERT_WEBHOOKS).toEqual([]));

  it('reads a JSON list of URLs and secrets, one consumer group (sink id) each, global unless said otherwise', () => {
    const config = loadConfig({ ALERT_WEBHOOKS: `[{"url":"https://ops.example.com/hook","secret":"${SECRET}"}]` });
    const sinks = new ConfiguredWebhookSinks(config.ALERT_WEBHOOKS).all();
    expect(sinks).toEqual([{ id: sinkIdOf('https://ops.example.com/hook'), scope: 'global', url: 'https://ops.example.com/hook', secret: SECRET }]);
  });

  it('reads a name and a scope; naming a sink keeps its id (its consumer group)', () => {
    const config = loadConfig({ ALERT_WEBHOOKS: `[{"url":"https://ops.example.com/hook","secret":"${SECRET}","name":"pager-1","scope":"rule"}]` });
    expect(new ConfiguredWebhookSinks(config.ALERT_WEBHOOKS).all()).toEqual([
      { id: sinkIdOf('https://ops.example.com/hook'), name: 'pager-1', scope: 'rule', url: 'https://ops.example.com/hook', secret: SECRET },
    ]);
  });

  const entry = (fields: object) => JSON.stringify({ url: 'https://a.example.com', secret: SECRET, ...fields });
  it.each([
    ['not JSON', '[{url:', /ALERT_WEBHOOKS: not JSON/],
    ['a short secret', '[{"url":"https://a.example.com","secret":"short"}]', /ALERT_WEBHOOKS.0.secret: at least 16 characters/],
    ['another scheme', `[{"url":"ftp://a.example.com","secret":"${SECRET}"}]`, /ALERT_WEBHOOKS.0.url: an http/],
    ['an unknown field', `[{"url":"https://a.example.com","secret":"${SECRET}","secert":"x"}]`, /ALERT_WEBHOOKS.0: Unrecognized key/],
    ['a URL twice', `[{"url":"https://a.example.com","secret":"${SECRET}"},{"url":"https://a.example.com","secret":"fedcba9876543210"}]`, /ALERT_WEBHOOKS: each URL once/],
    ['an unknown scope', `[${entry({ name: 'a', scope: 'device' })}]`, /ALERT_WEBHOOKS.0.scope: Invalid enum value/],
    ['a name with capitals', `[${entry({ name: 'Pager' })}]`, /ALERT_WEBHOOKS.0.name: lower-case letters, digits and "-"/],
    ['a name of 64 characters', `[${entry({ name: 'a'.repeat(64) })}]`, /ALERT_WEBHOOKS.0.name: lower-case/],
    ['a rule sink without a name', `[${entry({})},${entry({ url: 'https://b.example.com', scope: 'rule' })}]`, /ALERT_WEBHOOKS.1.name: required with "scope": "rule"/],
    ['a name twice', `[${entry({ name: 'pager' })},${entry({ url: 'https://b.example.com', name: 'pager', scope: 'rule' })}]`, /ALERT_WEBHOOKS.1.name: "pager" is the name of entry 0 already/],
  ])('refuses %s, naming the variable, the entry and the field', (_what, value, message) => expect(() => loadConfig({ ALERT_WEBHOOKS: value })).toThrow(message));
});

describe('the sinks of an alert event', () => {
  const settings = [
    { url: 'https://everyone.example.com', secret: SECRET, scope: 'global' as const },
    { url: 'https://ops.example.com', secret: SECRET, name: 'ops', scope: 'global' as const },
    { url: 'https://pager.example.com', secret: SECRET, name: 'pager', scope: 'rule' as const },
    { url: 'https://site-b.example.com', secret: SECRET, name: 'site-b', scope: 'rule' as const },
  ];
  const unknown: string[] = [];
  const sinks = new ConfiguredWebhookSinks(settings, (name) => unknown.push(name));
  const urlsFor = (notify: string[]) => sinks.sinksFor({ notify }).map((sink) => sink.url);

  it('of a rule that names none: the global sinks only', () => {
    expect(urlsFor([])).toEqual(['https://everyone.example.com', 'https://ops.example.com']);
  });

  it('of a rule that names a rule sink: the global sinks and that one', () => {
    expect(urlsFor(['pager'])).toEqual(['https://everyone.example.com', 'https://ops.example.com', 'https://pager.example.com']);
  });

  it('of a rule that names a global sink too: each sink once', () => {
    expect(urlsFor(['ops', 'site-b', 'ops'])).toEqual(['https://everyone.example.com', 'https://ops.example.com', 'https://site-b.example.com']);
  });

  it('skips a name the config no longer has, and tells of it once', () => {
    expect(urlsFor(['gone', 'pager'])).toEqual(['https://everyone.example.com', 'https://ops.example.com', 'https://pager.example.com']);
    expect(urlsFor(['gone'])).toEqual(['https://everyone.example.com', 'https://ops.example.com']);
    expect(unknown).toEqual(['gone']);
  });

  it('with only rule sinks configured, of a rule that names none: no sink', () => {
    expect(new ConfiguredWebhookSinks([settings[2]!]).sinksFor({ notify: [] })).toEqual([]);
  });
});
