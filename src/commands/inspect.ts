import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { describeImage } from '../report/identity.js';
import { renderIdentityText } from '../report/identity-text.js';
import { loadImage } from '../sources/index.js';

export default class Inspect extends BaseCommand {
  static override summary = "Show an image's identity chain: manifest digest, image ID, and each layer's digests and Dockerfile step.";

  static override examples = [
    '<%= config.bin %> inspect docker-archive:build.tar',
    '<%= config.bin %> inspect oci:./layout:latest --platform linux/arm64',
    '<%= config.bin %> inspect oci-archive:image.tar --json',
  ];

  static override args = {
    image: Args.string({
      description: 'image reference: docker-archive:PATH[:NAME:TAG], oci:DIR[:TAG], oci-archive:PATH[:TAG], dir:DIR, docker://REGISTRY/REPO[:TAG], or a path',
      required: true,
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Inspect);
    const image = await loadImage(args.image, this.loadOptionsFrom(flags));
    try {
      const identity = describeImage(image);
      if (this.jsonEnabled()) this.outJson(identity);
      else this.out(renderIdentityText(identity));
    } finally {
      await image.close();
    }
  }
}
