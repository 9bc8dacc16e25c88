// The Lambda function's entry (serverless variant): src/gatehouse-function.ts bundles this file and
// Gatehouse with it into one ES module at synth time, with the local esbuild.
//
// createStreamingHandler() answers function URL events with InvokeMode RESPONSE_STREAM. It reads its
// configuration from GATEHOUSE_CONFIG and the values of its ${NAME}s from the Secrets Manager secret
// named by GATEHOUSE_SECRETS_ID, through the AWS Parameters and Secrets Lambda Extension.
import { createStreamingHandler } from 'gatehouse/lambda';

export const handler = createStreamingHandler();
