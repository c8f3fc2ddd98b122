"""The reference networks of the tutorial: two image classifiers and the character RNN."""
import numpy as np

from . import functional as F
from .nn import GRU, LSTM, BatchNorm2d, Conv2d, Dropout, Embedding, Linear, MaxPool2d, Module


class LettersCNN(Module):
    """The tutorial's letter reader.

    x: (N, 1, 28, 28) -> log-probabilities (N, n_classes):
    conv3x3 1->32, pool2, GELU, conv3x3 32->64, pool2 (ceil: 11->6), GELU,
    conv3x3 64->128, pool2, GELU, flatten 512, fc 512->64, GELU, [dropout],
    fc 64->128, GELU, fc 128->n_classes, log-softmax.
    """

    def __init__(self, n_classes=26, dropout=0.0, seed=0):
        rng = np.random.default_rng(seed)
        self.c1 = Conv2d(1, 32, 3, rng=rng)
        self.c2 = Conv2d(32, 64, 3, rng=rng)
        self.c3 = Conv2d(64, 128, 3, rng=rng)
        self.fc1 = Linear(512, 64, rng=rng)
        self.fc2 = Linear(64, 128, rng=rng)
        self.fc3 = Linear(128, n_classes, rng=rng)
        self.pool = MaxPool2d(2)
        self.dropout = Dropout(dropout, rng=np.random.default_rng(seed + 1)) if dropout > 0 else None
        self.n_classes = n_classes

    def logits(self, x):
        x = F.gelu(self.pool(self.c1(x)))
        x = F.gelu(self.pool(self.c2(x)))
        x = F.gelu(self.pool(self.c3(x)))
        x = F.gelu(self.fc1(F.flatten(x)))
        if self.dropout is not None:
            x = self.dropout(x)
        x = F.gelu(self.fc2(x))
        return self.fc3(x)

    def forward(self, x):
        return F.log_softmax(self.logits(x))


class LettersVGG(Module):
    """A deeper letter reader for many writers: two 3x3 convolutions before each pool, as VGG does.

    x: (N, 1, 28, 28) -> log-probabilities (N, n_classes), with A = 32 and B = 64 channels:
    conv3x3 1->A, GELU, conv3x3 A->A, pool2 (24->12), GELU, conv3x3 A->B, GELU,
    conv3x3 B->B, pool2 (8->4), GELU, flatten 16B, fc 16B->128, GELU, [dropout], fc 128->n_classes,
    log-softmax.  About 200,000 parameters and 2.7 times the LettersCNN's multiply-adds per image.
    """

    conv_bias = True  # LettersVGGBN: False (the normalisation after each convolution shifts it)
    channels = (32, 64)  # A, B: the two blocks' convolutions (LettersVGGWide: 32, 96)

    def __init__(self, n_classes=26, dropout=0.0, seed=0):
        rng = np.random.default_rng(seed)
        first, second = self.channels
        self.c1 = Conv2d(1, first, 3, bias=self.conv_bias, rng=rng)
        self.c2 = Conv2d(first, first, 3, bias=self.conv_bias, rng=rng)
        self.c3 = Conv2d(first, second, 3, bias=self.conv_bias, rng=rng)
        self.c4 = Conv2d(second, second, 3, bias=self.conv_bias, rng=rng)
        self.fc1 = Linear(16 * second, 128, rng=rng)
        self.fc2 = Linear(128, n_classes, rng=rng)
        self.pool = MaxPool2d(2)
        self.dropout = Dropout(dropout, rng=np.random.default_rng(seed + 1)) if dropout > 0 else None
        self.n_classes = n_classes

    def features(self, x):
        """The convolutions: (N, 1, 28, 28) -> (N, B, 4, 4)."""
        x = F.gelu(self.pool(self.c2(F.gelu(self.c1(x)))))
        return F.gelu(self.pool(self.c4(F.gelu(self.c3(x)))))

    def logits(self, x):
        x = F.gelu(self.fc1(F.flatten(self.features(x))))
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc2(x)

    def forward(self, x):
        return F.log_softmax(self.logits(x))


class LettersVGGBN(LettersVGG):
    """LettersVGG with batch normalisation after each convolution (the convolutions then need no bias).

    x: (N, 1, 28, 28) -> log-probabilities (N, n_classes): conv3x3 1->32, BN, GELU, conv3x3 32->32, BN, pool2,
    GELU, conv3x3 32->64, BN, GELU, conv3x3 64->64, BN, pool2, GELU, flatten 1024, fc 1024->128, GELU,
    [dropout], fc 128->n_classes, log-softmax.  Trained with batch statistics; folded() gives the LettersVGG
    that computes the same in eval mode, which `letters --export` saves for reading.
    """

    conv_bias = False

    def __init__(self, n_classes=26, dropout=0.0, seed=0):
        super().__init__(n_classes, dropout, seed)
        first, second = self.channels
        self.n1, self.n2, self.n3, self.n4 = (BatchNorm2d(c) for c in (first, first, second, second))

    def features(self, x):
        x = F.gelu(self.pool(self.n2(self.c2(F.gelu(self.n1(self.c1(x)))))))
        return F.gelu(self.pool(self.n4(self.c4(F.gelu(self.n3(self.c3(x)))))))

    def norms(self):
        """[(convolution, its batch normalisation)] in order."""
        return [(self.c1, self.n1), (self.c2, self.n2), (self.c3, self.n3), (self.c4, self.n4)]

    def folded(self):
        """The LettersVGG computing what this network computes in eval mode: each normalisation's
        gamma (x - mean) / sqrt(var + eps) + beta folded into its convolution's weight and bias."""
        plain = LettersVGG(self.n_classes)
        for (conv, norm), target in zip(self.norms(), (plain.c1, plain.c2, plain.c3, plain.c4)):
            scale = norm.gamma.value.astype(np.float64) / np.sqrt(norm.var.value.astype(np.float64) + norm.eps)
            target.weight.data[...] = conv.weight.value * scale[:, None, None, None]
            target.bias.data[...] = norm.beta.value - norm.mean.value * scale
        for name in ("fc1", "fc2"):
            getattr(plain, name).weight.data[...] = getattr(self, name).weight.value
            getattr(plain, name).bias.data[...] = getattr(self, name).bias.value
        return plain.eval()


class LettersVGGWide(LettersVGG):
    """LettersVGG with 96 channels in its second block instead of 64: more features where the planes are small.

    x: (N, 1, 28, 28) -> log-probabilities (N, n_classes): conv3x3 1->32, GELU, conv3x3 32->32, pool2, GELU,
    conv3x3 32->96, GELU, conv3x3 96->96, pool2, GELU, flatten 1536, fc 1536->128, GELU, [dropout],
    fc 128->n_classes, log-softmax.  320,571 parameters for 27 classes (1.6 times LettersVGG's), about 1.4
    times its multiply-adds: the 12x12 and 10x10 planes of the second block are cheap to widen.
    """

    channels = (32, 96)


class LettersVGGCases(LettersVGG):
    """LettersVGG whose capitals are classes of their own while it learns, merged with their small letters when
    it reads: a class 'a' that holds two shapes (a, A) is learned as two.

    logits(x): (N, 1, 28, 28) -> (N, n_classes + 26), the n_classes (the 26 letters first, then any others such as
    'other'), then the 26 capitals A..Z.  forward(x) -> log-probabilities (N, n_classes) of the classes read:
    log p(a) = log(p(small a) + p(capital A)); every reader (evaluate, calibrate, ocr, int8) sees those.  Trained
    with cross_entropy_among (training/cases.py): a letter whose case its set records counts against its own
    column, one of unknown case against the pair.  The layers are LettersVGG's, fc2 26 outputs wider.
    """

    capitals = 26

    def __init__(self, n_classes=27, dropout=0.0, seed=0):
        if n_classes < self.capitals:
            raise ValueError(f"LettersVGGCases reads the 26 letters first, then others; n_classes {n_classes} < 26")
        super().__init__(n_classes + self.capitals, dropout, seed)
        self.n_classes = n_classes

    def output_groups(self):
        """The class each logit is read as: column j < n_classes is class j, column n_classes + k is letter k."""
        return list(range(self.n_classes)) + list(range(self.capitals))

    def forward(self, x):
        return F.group_logsumexp(F.log_softmax(self.logits(x)), self.output_groups())


def reads_capitals_apart(model):
    """True for a model (or model class) that learns the capitals as columns of their own (LettersVGGCases):
    trained with the columns each label allows, read through output_groups()."""
    return getattr(model, "capitals", 0) > 0


class DigitsMLP(Module):
    """The tutorial's digit network: 784 -> 128 -> ReLU -> 64 -> ReLU -> 10 -> log-softmax.

    x: (N, 1, 28, 28) or (N, 784) -> log-probabilities (N, 10).
    """

    def __init__(self, n_classes=10, seed=0):
        rng = np.random.default_rng(seed)
        self.fc1 = Linear(784, 128, rng=rng)
        self.fc2 = Linear(128, 64, rng=rng)
        self.fc3 = Linear(64, n_classes, rng=rng)
        self.n_classes = n_classes

    def logits(self, x):
        if x.ndim != 2:
            x = F.flatten(x)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)

    def forward(self, x):
        return F.log_softmax(self.logits(x))


MODELS = {"letters-cnn": LettersCNN, "letters-vgg": LettersVGG, "letters-vgg-bn": LettersVGGBN,
          "letters-vgg-wide": LettersVGGWide, "letters-vgg-cases": LettersVGGCases, "digits-mlp": DigitsMLP}
# The letter readers `hdl-native letters --model` trains (they take --dropout).
LETTER_MODELS = ("letters-cnn", "letters-vgg", "letters-vgg-bn", "letters-vgg-wide", "letters-vgg-cases")


class CharRNN(Module):
    """A character model: indices (N, T) -> next-character logits (N*T, V) and the final state.

    Embedding(V, H) -> `num_layers` GRU or LSTM layers of H (batch-first) -> Linear(H, V);
    with dropout > 0, each recurrent layer's outputs are dropped out while training (char-rnn's
    regularisation: between the layers, and before the Linear); the rows of the logits are the positions in
    batch-major order (n * T + t).
    forward(indices, state=None) -> (logits, state) with state the recurrent layers'
    final state (h_n for a GRU, (h_n, c_n) for an LSTM), to carry into the next chunk.
    """

    def __init__(self, cell="gru", vocab_size=95, hidden_size=256, num_layers=3, seed=0, dropout=0.0):
        if cell not in RECURRENT_CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(RECURRENT_CELLS)}")
        rng = np.random.default_rng(seed)
        self.embedding = Embedding(vocab_size, hidden_size, rng=rng)
        self.rnn = RECURRENT_CELLS[cell](hidden_size, hidden_size, num_layers=num_layers, rng=rng)
        self.head = Linear(hidden_size, vocab_size, rng=rng)
        # after every other draw, so a seed gives the same weights with or without dropout
        self.rnn.drop_between_layers(dropout, rng)
        self.output_dropout = (Dropout(dropout, rng=np.random.default_rng(rng.integers(2 ** 63)))
                               if dropout > 0 else None)
        self.cell, self.vocab_size, self.hidden_size, self.dropout = cell, vocab_size, hidden_size, dropout

    def forward(self, indices, state=None):
        hidden, state = self.rnn(indices, state, embedding=self.embedding)
        if self.output_dropout is not None:
            hidden = self.output_dropout(hidden)
        return self.head(hidden.reshape(-1, self.hidden_size)), state


RECURRENT_CELLS = {"gru": GRU, "lstm": LSTM}


class TextModel(CharRNN):
    """The text generator's CharRNN under the names a state file records (model_args vocab, hidden,
    layers); `n_classes` is the vocabulary size.  Subclasses name the recurrent cell."""

    cell_name = None

    def __init__(self, vocab=95, hidden=256, layers=3, seed=0, dropout=0.0):
        super().__init__(self.cell_name, vocab, hidden, layers, seed=seed, dropout=dropout)
        self.n_classes, self.num_layers = vocab, layers


class CharGRU(TextModel):
    cell_name = "gru"


class CharLSTM(TextModel):
    cell_name = "lstm"


# The architectures of `hdl-native textgen` states; checkpoint.py knows them beside MODELS.
TEXT_MODELS = {"char-gru": CharGRU, "char-lstm": CharLSTM}
# The char-RNN training steps `hdl-native bench` times (issue 14's targets).
CHAR_MODELS = {"char-gru": ("gru", 3), "char-lstm": ("lstm", 2)}
