class M(Module):
  __parameters__ = ["weight", ]
  __buffers__ = []
  weight : Tensor
  n : int
  def forward(self: __torch__.M,
    x: Tensor) -> Tensor:
    _0 = torch.add(x, self.weight)
    total = 0
    for i in range(self.n):
      if torch.eq(torch.remainder(i, 2), 0):
        total = torch.add(total, i)
      else:
        continue
    xs = annotate(List[int], [])
    while torch.lt(torch.len(xs), 3):
      _1 = torch.append(xs, total)
    a, b = xs[0], xs[-1]
    d = {"a": a, "b": b}
    msg = "{} {}".format(d["a"], self.f)
    return torch.mul(_0, float(a + b))
