"""AlphaZero loss: cross-entropy of the policy logits against the MCTS visit
distribution plus MSE of the value against the game outcome."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def alphazero_loss(
    policy_logits: torch.Tensor,
    value: torch.Tensor,
    target_policy: torch.Tensor,
    target_value: torch.Tensor,
    value_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """
    Args:
        policy_logits: (B, A) raw logits.
        value: (B, 1) tanh output.
        target_policy: (B, A) visit distribution (rows sum to 1; renormalised here in
            case float32 rounding or a corrupt-but-plausible row says otherwise).
        target_value: (B,) outcome from the side to move, in {-1, 0, 1}.
    Returns:
        dict with scalar tensors "total" (for backward), "policy", "value", "entropy".
    """
    target = target_policy / target_policy.sum(dim=1, keepdim=True).clamp_min(1e-8)
    logp = F.log_softmax(policy_logits, dim=1)  # (B, A)
    policy_loss = -(target * logp).sum(dim=1).mean()
    value_loss = F.mse_loss(value.squeeze(1), target_value)
    with torch.no_grad():
        entropy = -(logp.exp() * logp).sum(dim=1).mean()
    return {
        "total": policy_loss + value_weight * value_loss,
        "policy": policy_loss,
        "value": value_loss,
        "entropy": entropy,
    }
