import { loadConfig } from '@fleetstream/config';
import { GlobalWebhookSinks, sinkIdOf } from './webhook-sinks';

describe('ALERT_WEBHOOKS', () => {
  it('is no sink by default', () => expect(loadConfig({}).ALERT_WEBHOOKS).toEqual([]));

  it('reads a JSON list of URLs and secrets, one consumer group (sink id) each', () => {
    const config = loadConfig({ ALERT_WEBHOOKS: '[{"url":"https://ops.example.com/hook","secret":"0123456789abcdef"}]' });
    const sinks = new GlobalWebhookSinks(config.ALERT_WEBHOOKS).all();
    expect(sinks).toEqual([{ id: sinkIdOf('https://ops.example.com/hook'), url: 'https://ops.example.com/hook', secret: '0123456789abcdef' }]);
  });

  it.each([
    ['not JSON', '[{url:', /ALERT_WEBHOOKS: not JSON/],
    ['a short secret', '[{"url":"https://a.example.com","secret":"short"}]', /ALERT_WEBHOOKS.0.secret: at least 16 characters/],
    ['another scheme', '[{"url":"ftp://a.example.com","secret":"0123456789abcdef"}]', /ALERT_WEBHOOKS.0.url: an http/],
    ['an unknown field', '[{"url":"https://a.example.com","secret":"0123456789abcdef","secert":"x"}]', /ALERT_WEBHOOKS.0: Unrecognized key/],
    ['a URL twice', '[{"url":"https://a.example.com","secret":"0123456789abcdef"},{"url":"https://a.example.com","secret":"fedcba9876543210"}]', /ALERT_WEBHOOKS: each URL once/],
  ])('refuses %s, naming the variable', (_what, value, message) => expect(() => loadConfig({ ALERT_WEBHOOKS: value })).toThrow(message));
});
