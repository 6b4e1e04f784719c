# shellcheck shell=bash
# The model and loss flags of the corpus recipe, sourced by corpus.sh (CPU) and gpu.sh (one GPU), so that both
# train the same network. Data, batch, schedule and device are each recipe's own.
# shellcheck disable=SC2034  # read by the recipes that source this file
CORPUS_MODEL_FLAGS=(--upsample bilinear --decoder-noise --content-weight 2 --style-weight 1 --mean-std-weight 3
  --color-weight 5 --tone-weight 1 --kl-weight 0.0005 --kl-warmup 1000 --triplet-weight 0.02 --diversity-weight 5
  --diversity-target 0.06 --mean-code-share 0.5 --content-sizes "128,192" --style-sizes "160,224")
