"""Xception (Chollet, "Xception: Deep Learning with Depthwise Separable
Convolutions", CVPR 2017) in PyTorch, as the paper's Figure 5 defines it and
as Keras ships it (keras.applications.Xception, 22.9M parameters, 299x299
input): torchvision has no Xception, and the study (Ma et al., WWW 2019) ran
it among its five Keras models. Built from the paper, not from another
implementation.
"""
import torch
from torch import nn


class SeparableConv(nn.Sequential):
    """A 3x3 depthwise convolution, then a 1x1 pointwise one; no bias (a BatchNorm follows)."""

    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False))


def sep_bn(cin, cout, relu_first):
    layers = [nn.ReLU()] if relu_first else []
    return layers + [SeparableConv(cin, cout), nn.BatchNorm2d(cout)]


class DownBlock(nn.Module):
    """Entry/exit flow block: two separable convolutions and a 3x3 stride-2 max pool, plus a strided 1x1 shortcut."""

    def __init__(self, cin, mid, cout, relu_first):
        super().__init__()
        self.body = nn.Sequential(*sep_bn(cin, mid, relu_first), *sep_bn(mid, cout, True), nn.MaxPool2d(3, 2, padding=1))
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class MiddleBlock(nn.Module):
    """Middle flow block: three ReLU + separable convolution + BatchNorm, with an identity shortcut."""

    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(*sep_bn(c, c, True), *sep_bn(c, c, True), *sep_bn(c, c, True))

    def forward(self, x):
        return self.body(x) + x


class Xception(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        self.entry = nn.Sequential(DownBlock(64, 128, 128, False), DownBlock(128, 256, 256, True), DownBlock(256, 728, 728, True))
        self.middle = nn.Sequential(*[MiddleBlock(728) for _ in range(8)])
        self.exit = nn.Sequential(
            DownBlock(728, 728, 1024, True),
            SeparableConv(1024, 1536), nn.BatchNorm2d(1536), nn.ReLU(),
            SeparableConv(1536, 2048), nn.BatchNorm2d(2048), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        return self.fc(self.exit(self.middle(self.entry(self.stem(x)))))


def xception():
    return Xception()


if __name__ == "__main__":
    m = xception()
    print(sum(p.numel() for p in m.parameters()), m(torch.randn(1, 3, 299, 299)).shape)
