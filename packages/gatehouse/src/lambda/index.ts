/** `gatehouse/lambda`: Gatehouse as an AWS Lambda function (docs/deploy-lambda.md). */
export { createHandler, createStreamingHandler, type LambdaOptions } from './handler.js';
export type { AlbEvent, AlbResult, HttpApiEvent, HttpApiResult, LambdaHttpEvent } from './events.js';
