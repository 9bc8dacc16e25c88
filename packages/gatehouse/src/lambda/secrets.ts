/**
 * Secrets at a Lambda's cold start, from AWS Secrets Manager through the AWS Parameters and Secrets
 * Lambda Extension (a layer that answers on localhost and caches), so no AWS SDK ships with
 * Gatehouse. The secret is a JSON object of names and values (GATEHOUSE_SECRET, CLIENT_SECRET, ...)
 * that the configuration's `${NAME}`s then take, exactly as from environment variables.
 */
export async function secretsFromExtension(
  secretId: string,
  env: Record<string, string | undefined>,
): Promise<Record<string, string>> {
  const port = env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
  const url = `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
  const response = await fetch(url, { headers: { 'x-aws-parameters-secrets-token': env.AWS_SESSION_TOKEN ?? '' } });
  if (!response.ok) {
    throw new Error(`GATEHOUSE_SECRETS_ID: the secrets extension answered ${response.status} (is the layer attached?)`);
  }
  const { SecretString } = (await response.json()) as { SecretString?: string };
  const values = JSON.parse(SecretString ?? 'null') as unknown;
  if (!values || typeof values !== 'object' || Array.isArray(values)) {
    throw new Error('GATEHOUSE_SECRETS_ID: the secret must be a JSON object of names and values');
  }
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, String(value)]));
}
