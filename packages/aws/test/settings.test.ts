/**
 * The ready app's settings from CDK context: strings from `-c key=value`, typed values from
 * cdk.json, placeholders when nothing is given, and a clear error naming the key otherwise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ROUTES, PLACEHOLDERS, readSettings, SettingsError } from '../src/settings.js';

const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

describe('app settings', () => {
  it('fall back to placeholders, and say which, so `cdk synth` runs with no context', () => {
    const settings = readSettings(context({}));
    assert.deepEqual(settings.placeholders, ['domainName', 'certificateArn', 'oidcIssuer', 'oidcClientId']);
    assert.equal(settings.domainName, PLACEHOLDERS.domainName);
    assert.equal(settings.originDomainName, 'origin.app.example.com');
    assert.equal(settings.originCertificateArn, PLACEHOLDERS.certificateArn);
    assert.equal(settings.oidcClientSecretName, 'gatehouse/oidc-client-secret');
    assert.deepEqual(settings.routes, DEFAULT_ROUTES);
    assert.equal(settings.stackName, 'Gatehouse');
    assert.equal(settings.account, undefined);
    assert.equal(settings.region, undefined);
    assert.equal(settings.availabilityZones, undefined);
    assert.equal(settings.originVerifyActive, 'a');
    assert.equal(settings.originVerifyAcceptBoth, false);
    assert.equal(settings.natGateways, 2);
    assert.equal(settings.internalApiPort, 8080);
    assert.deepEqual(settings.trustedProxies, []);
    assert.equal(settings.cpuArchitecture, 'x86_64');
    assert.equal(settings.image, undefined, 'built from the repository Dockerfile');
    assert.equal(settings.variant, 'container');
    assert.equal(settings.lambdaTimeoutSeconds, 30);
    assert.equal(settings.lambdaMemoryMiB, 1024);
    assert.equal(settings.lambdaReservedConcurrency, undefined);
    assert.equal(settings.gatehouseSecretsArn, undefined, 'made from the OIDC client secret');
  });

  it('read the serverless variant’s settings, as text or typed', () => {
    const fromText = readSettings(
      context({
        variant: 'serverless',
        lambdaTimeoutSeconds: '60',
        lambdaMemoryMiB: '512',
        lambdaReservedConcurrency: '5',
      }),
    );
    assert.equal(fromText.variant, 'serverless');
    assert.equal(fromText.lambdaTimeoutSeconds, 60);
    assert.equal(fromText.lambdaMemoryMiB, 512);
    assert.equal(fromText.lambdaReservedConcurrency, 5);
    const typed = readSettings(context({ variant: 'serverless', lambdaReservedConcurrency: 0 }));
    assert.equal(typed.lambdaReservedConcurrency, 0, 'zero is a setting (the function is switched off), not "unset"');
  });

  it('read command-line strings: lists comma-separated, routes as JSON, numbers and booleans as text', () => {
    const settings = readSettings(
      context({
        domainName: 'shop.example.org',
        certificateArn: 'arn:aws:acm:us-east-1:1:certificate/x',
        oidcIssuer: 'https://id.example.org',
        oidcClientId: 'shop',
        oidcScopes: 'openid, orders',
        trustedProxies: '130.176.0.0/18,130.176.64.0/21',
        routes: '[{"path":"/cart","upstream":"http://cart.internal:8080","token":"user"}]',
        natGateways: '1',
        originVerifyAcceptBoth: 'true',
        originVerifyActive: 'b',
        region: 'ap-northeast-1',
        availabilityZones: 'ap-northeast-1a,ap-northeast-1c',
      }),
    );
    assert.deepEqual(settings.placeholders, []);
    assert.equal(settings.originDomainName, 'origin.shop.example.org');
    assert.deepEqual(settings.oidcScopes, ['openid', 'orders']);
    assert.deepEqual(settings.trustedProxies, ['130.176.0.0/18', '130.176.64.0/21']);
    assert.deepEqual(settings.routes, [{ path: '/cart', upstream: 'http://cart.internal:8080', token: 'user' }]);
    assert.equal(settings.natGateways, 1);
    assert.equal(settings.originVerifyAcceptBoth, true);
    assert.equal(settings.originVerifyActive, 'b');
    assert.deepEqual(settings.availabilityZones, ['ap-northeast-1a', 'ap-northeast-1c']);
  });

  it('read typed values from cdk.json, and derive the AZs from the region', () => {
    const settings = readSettings(
      context({
        trustedProxies: ['130.176.0.0/18'],
        routes: [{ path: '/a', upstream: 'http://a.internal' }],
        natGateways: 1,
        originVerifyAcceptBoth: false,
        region: 'eu-central-1',
      }),
    );
    assert.deepEqual(settings.trustedProxies, ['130.176.0.0/18']);
    assert.deepEqual(settings.routes, [{ path: '/a', upstream: 'http://a.internal' }]);
    assert.equal(settings.natGateways, 1);
    assert.deepEqual(settings.availabilityZones, ['eu-central-1a', 'eu-central-1b']);
  });

  it('refuse unusable values with the key’s name', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ originVerifyActive: 'c' }, /originVerifyActive: expected "a" or "b"/],
      [{ originVerifyAcceptBoth: 'yes' }, /originVerifyAcceptBoth: expected true or false/],
      [{ natGateways: 'two' }, /natGateways: expected a whole number/],
      [{ routes: '{not json' }, /routes: expected a JSON list/],
      [{ routes: '[{"path":"/a"}]' }, /routes: expected a JSON list/],
      [{ domainName: 42 }, /domainName: expected a string/],
      [{ hostedZoneId: 'Z0123456789' }, /hostedZoneId and hostedZoneName: give both or neither/],
      [{ cpuArchitecture: 'ARM64' }, /cpuArchitecture: expected "x86_64" or "arm64"/],
      [{ variant: 'lambda' }, /variant: expected "container" or "serverless"/],
      [{ lambdaTimeoutSeconds: '30s' }, /lambdaTimeoutSeconds: expected a whole number/],
      [{ lambdaReservedConcurrency: 'none' }, /lambdaReservedConcurrency: expected a whole number/],
    ];
    for (const [values, message] of cases) {
      assert.throws(
        () => readSettings(context(values)),
        (error: unknown) => {
          assert.ok(error instanceof SettingsError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });
});
