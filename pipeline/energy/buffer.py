"""The replay buffer of IGEBM (posts.md §3.1 step 2, §3.2 (c)): each Langevin chain starts from a
past sample with probability ``replay_share`` (0.95), else from uniform noise on the data range.

As in openai/ebm_code_release: a first-in-first-out store of ``capacity`` (10 000) final chain
states; replay starts only once the buffer holds a full batch. The state (contents and write
position) is plain tensors, saved in checkpoints and never averaged by a weight EMA.
"""

from __future__ import annotations

import torch


def check_share(share: float, key: str) -> float:
    """``share`` as a float, or ``ValueError`` naming ``key`` when it is outside [0, 1]."""
    share = float(share)
    if not 0.0 <= share <= 1.0:
        raise ValueError(
            f"{key}: {share} must lie in [0, 1] (share of chains restarted from the buffer)"
        )
    return share


def uniform(
    n: int,
    shape: tuple[int, ...],
    low: float,
    high: float,
    generator: torch.Generator | None = None,
    device="cpu",
) -> torch.Tensor:
    """``n`` draws from the uniform distribution on [low, high]^shape."""
    return low + (high - low) * torch.rand((n, *shape), generator=generator, device=device)


class ReplayBuffer:
    """FIFO store of past chain ends; :meth:`init` draws a batch of chain starts."""

    def __init__(
        self,
        shape: tuple[int, ...],
        capacity: int = 10_000,
        replay_share: float = 0.95,
        low: float = 0.0,
        high: float = 1.0,
        key: str = "buffer",
    ):
        if int(capacity) != capacity or capacity < 1:
            raise ValueError(f"{key}.capacity: {capacity} must be an integer >= 1")
        self.replay_share = check_share(replay_share, f"{key}.replay_share")
        self.shape, self.capacity, self.low, self.high = tuple(shape), int(capacity), low, high
        self.data = torch.empty((0, *self.shape))
        self.position = 0

    def __len__(self) -> int:
        return len(self.data)

    def init(self, n: int, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """Chain starts: uniform noise, with a ``replay_share`` of rows taken from the buffer."""
        x = uniform(n, self.shape, self.low, self.high, generator, device)
        if len(self.data) < n or self.replay_share == 0.0:
            return x
        idx = torch.randint(len(self.data), (n,), generator=generator)
        replay = torch.rand(n, generator=generator) < self.replay_share
        x[replay.to(x.device)] = self.data[idx[replay]].to(x.device, x.dtype)
        return x

    def push(self, x: torch.Tensor) -> None:
        """Append a batch of chain ends, overwriting the oldest once ``capacity`` is reached."""
        x = x.detach().to("cpu", torch.float32)[: self.capacity]
        room = self.capacity - len(self.data)
        if room > 0:
            take = min(room, len(x))
            self.data = torch.cat([self.data, x[:take]])
            x = x[take:]
        for row in x.split(self.capacity):
            end = self.position + len(row)
            if end <= self.capacity:
                self.data[self.position : end] = row
            else:
                cut = self.capacity - self.position
                self.data[self.position :] = row[:cut]
                self.data[: end - self.capacity] = row[cut:]
            self.position = end % self.capacity

    def state_dict(self) -> dict:
        return {"data": self.data.clone(), "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        data = state["data"]
        if tuple(data.shape[1:]) != self.shape or len(data) > self.capacity:
            raise ValueError(
                f"replay buffer state of shape {tuple(data.shape)} does not fit "
                f"capacity {self.capacity} and sample shape {self.shape}"
            )
        self.data, self.position = data.clone(), int(state["position"])
