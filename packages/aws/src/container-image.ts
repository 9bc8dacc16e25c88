import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';

/**
 * The Gatehouse repository this package sits in: the nearest folder above it holding the root
 * Dockerfile and packages/gatehouse. Undefined when installed from npm, where there is none.
 */
export function gatehouseRepository(start = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'Dockerfile')) && existsSync(join(dir, 'packages', 'gatehouse', 'package.json'))) {
      return dir;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The image built from the repository's Dockerfile at deploy time (`cdk deploy` runs docker and
 * pushes to the bootstrap ECR repository). Built for the tasks' CPU architecture, so a build on an
 * ARM laptop still runs on x86 tasks.
 */
export function gatehouseImageFromSource(architecture: ecs.CpuArchitecture): ecs.ContainerImage {
  const repository = gatehouseRepository();
  if (!repository) {
    throw new Error('No Gatehouse repository (Dockerfile and packages/gatehouse) above @gatehouse/aws: pass `image`.');
  }
  return ecs.ContainerImage.fromAsset(repository, {
    file: 'Dockerfile',
    platform:
      architecture === ecs.CpuArchitecture.ARM64 ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64,
  });
}

/** account.dkr.ecr.region.amazonaws.com[.cn]/name[:tag|@sha256:digest] */
const ECR_URI =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9._/-]+?)(?::([\w.-]+)|@(sha256:[a-f0-9]{64}))?$/;

/**
 * An image by URI. A private ECR image is referenced as an ECR repository, so the task execution role
 * is granted the pull (a plain registry image would get no ECR permissions and fail to start).
 */
export function containerImageFromUri(scope: Construct, uri: string): ecs.ContainerImage {
  const match = ECR_URI.exec(uri);
  if (!match) return ecs.ContainerImage.fromRegistry(uri);
  const [, account, region, china, name, tag, digest] = match;
  const partition = china ? 'aws-cn' : 'aws';
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'ImageRepository', {
    repositoryName: name!,
    repositoryArn: `arn:${partition}:ecr:${region}:${account}:repository/${name}`,
  });
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
}
