"""The strategy operators, listed once: ``register_strategy_ops`` registers each as an op."""

from agents.strategies.operators.aggregation import AGGREGATE, MOA
from agents.strategies.operators.atoms import ATOMS
from agents.strategies.operators.auto import AUTO
from agents.strategies.operators.chain import CHAIN_OF_AGENTS
from agents.strategies.operators.compiler import COMPILE
from agents.strategies.operators.cumulative import CUMULATIVE
from agents.strategies.operators.debate import DEBATE, RECONCILE
from agents.strategies.operators.got import GOT
from agents.strategies.operators.judges import BEST_OF_N, UNIVERSAL_VOTE
from agents.strategies.operators.mcts import MCTS
from agents.strategies.operators.peers import PEERS
from agents.strategies.operators.probe import PROBE
from agents.strategies.operators.prune import PRUNE
from agents.strategies.operators.skeleton import SKELETON
from agents.strategies.operators.smoa import SMOA
from agents.strategies.operators.spawn import SPAWN_JOIN
from agents.strategies.operators.tournament import TOURNAMENT
from agents.strategies.operators.tree import TREE_SEARCH
from agents.strategies.operators.tumix import TUMIX
from agents.strategies.operators.vote import VOTE
from agents.strategies.runtime import StrategyDef

STRATEGIES: dict[str, StrategyDef] = {
    defn.name: defn
    for defn in (
        VOTE,
        UNIVERSAL_VOTE,
        BEST_OF_N,
        TOURNAMENT,
        AGGREGATE,
        DEBATE,
        RECONCILE,
        MOA,
        TREE_SEARCH,
        GOT,
        SKELETON,
        COMPILE,
        SPAWN_JOIN,
        MCTS,
        PRUNE,
        PROBE,
        CUMULATIVE,
        PEERS,
        ATOMS,
        CHAIN_OF_AGENTS,
        SMOA,
        TUMIX,
        AUTO,
    )
}

__all__ = ["STRATEGIES"]
