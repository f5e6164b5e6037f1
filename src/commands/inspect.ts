import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { describeImage } from '../report/identity.js';
import { renderIdentityText } from '../report/identity-text.js';
import { loadImage } from '../sources/index.js';
import { imageManifests, listIndex } from '../sources/index-listing.js';
import { describeIndexListing, renderIndexListingText } from '../report/index-listing.js';

export default class Inspect extends BaseCommand {
  static override summary = "Show an image's identity chain: manifest digest, image ID, and each layer's digests and Dockerfile step.";

  static override description = 'A multi-platform index without --platform: its digest and each platform with its manifest digest (attestation manifests marked).';

  static override examples = [
    '<%= config.bin %> inspect docker-archive:build.tar',
    '<%= config.bin %> inspect oci:./layout:latest --platform linux/arm64',
    '<%= config.bin %> inspect docker://registry.example.com/app:1.0   # an index: its platforms',
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
    const load = this.loadOptionsFrom(flags);
    // An index of several platforms, without --platform: its platforms, each with its manifest digest.
    const listing = load.platform ? undefined : await listIndex(args.image, load);
    if (listing && imageManifests(listing).length > 1) {
      const described = describeIndexListing(listing);
      if (this.jsonEnabled()) this.outJson(described);
      else this.out(renderIndexListingText(described));
      return;
    }
    const image = await loadImage(args.image, load);
    try {
      const identity = describeImage(image);
      if (this.jsonEnabled()) this.outJson(identity);
      else this.out(renderIdentityText(identity));
    } finally {
      await image.close();
    }
  }
}
