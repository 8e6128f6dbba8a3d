## Independent reference values for analysis/stepwise.py, computed with R (glm, add1, car).
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/stepwise_reference.R ../shared/data/tianmao.csv tests/reference
## Output: tests/reference/stepwise_reference_R.json (numbers at 15 significant digits) and
##         tests/reference/stepwise_reference_R.txt (R's printed output and sessionInfo).
##
## What it computes
##  1. sas_select(): a separate implementation of the PROC LOGISTIC selection rules, written in R on
##     glm(): entry by the score (Rao) test of add1(test = "Rao") (smallest p-value, must be < slentry),
##     then removals by the joint Wald chi-square b' V^-1 b of each term from coef()/vcov() (largest p,
##     must be > slstay), repeated; "forward" only enters, "backward" only removes (from the full model);
##     stop when no term qualifies, or (SAS's cycle rule) when a step reaches a model visited before.
##     For every step it records the statistics of all candidates, not only the chosen one.
##  2. On the real data: add1(null, test = "Rao") for every term, add1 from an intermediate model, and the
##     Wald chi-square of every term of the full model both by hand and by car::Anova(type = 3, "Wald").
## Data: the SAS Remission data (tests/reference/remission.csv), the synthetic data
## (tests/reference/synthetic_stepwise.csv) and the real data (all rows, response coupon_ind).
## R's own factor coding of character columns (yes/no as factors) spans the same columns as the
## package's 0/1 dummies, so every term-level statistic is the same.

suppressPackageStartupMessages({
  library(jsonlite)
  library(car)
})
options(digits = 15, width = 200)
args <- commandArgs(trailingOnly = TRUE)
DATA <- if (length(args) >= 1) args[1] else "../shared/data/tianmao.csv"
OUTDIR <- if (length(args) >= 2) args[2] else "tests/reference"
sink(file.path(OUTDIR, "stepwise_reference_R.txt"), split = FALSE)

ctrl <- glm.control(epsilon = 1e-14, maxit = 100)
## glm stops on the relative change in deviance, which is quadratic in the error of the estimates: on an
## ill-conditioned model (Remission) that leaves estimates off by ~1e-7 relative. Refitting from the
## converged estimates runs at least one more IRLS (Newton) step, squaring that error.
fit_terms <- function(data, response, tt) {
  f <- reformulate(if (length(tt)) tt else "1", response = response)
  fit <- glm(f, family = binomial, data = data, control = ctrl)
  glm(f, family = binomial, data = data, control = ctrl, start = coef(fit))
}

wald_terms <- function(fit) {
  X <- model.matrix(fit)
  asg <- attr(X, "assign")
  labs <- attr(terms(fit), "term.labels")
  b <- coef(fit)
  V <- vcov(fit)
  out <- lapply(seq_along(labs), function(j) {
    idx <- which(asg == j)
    stat <- as.numeric(t(b[idx]) %*% solve(V[idx, idx, drop = FALSE], b[idx]))
    list(statistic = stat, df = length(idx), p_value = pchisq(stat, length(idx), lower.tail = FALSE))
  })
  names(out) <- labs
  out
}

score_terms <- function(fit, candidates) {
  a <- add1(fit, scope = candidates, test = "Rao")
  rn <- rownames(a)[-1]
  col <- grep("Rao", names(a), value = TRUE)[1]
  out <- lapply(rn, function(r) list(statistic = a[r, col], df = a[r, "Df"], p_value = a[r, "Pr(>Chi)"]))
  names(out) <- rn
  out
}

sas_select <- function(data, response, vars, sle, sls, direction) {
  forward <- direction %in% c("both", "forward")
  backward <- direction %in% c("both", "backward")
  current <- if (direction == "backward") vars else character(0)
  fit <- fit_terms(data, response, current)
  visited <- list(sort(current))
  seen <- function(tt) any(vapply(visited, function(v) identical(v, sort(tt)), logical(1)))
  steps <- list()
  reason <- NA_character_
  removals <- function() {
    while (length(current) > 0) {
      w <- wald_terms(fit)
      p <- vapply(w, function(x) x$p_value, numeric(1))
      worst <- names(p)[which.max(p)]
      if (!(p[[worst]] > sls)) return(NA_character_)
      current <<- setdiff(current, worst)
      fit <<- fit_terms(data, response, current)
      steps[[length(steps) + 1]] <<- list(action = "remove", term = worst, df = w[[worst]]$df,
                                          statistic = w[[worst]]$statistic, p_value = w[[worst]]$p_value,
                                          candidates = w)
      if (seen(current)) return("cycle")
      visited[[length(visited) + 1]] <<- sort(current)
    }
    NA_character_
  }
  if (!forward) {
    r <- removals()
    reason <- if (is.na(r)) "all remaining terms meet slstay" else r
  } else {
    repeat {
      cand <- setdiff(vars, current)
      if (!length(cand)) { reason <- "all terms are in the model"; break }
      s <- score_terms(fit, cand)
      p <- vapply(s, function(x) x$p_value, numeric(1))
      best <- names(p)[which.min(p)]
      if (!(p[[best]] < sle)) { reason <- "no term meets slentry"; break }
      current <- c(current, best)
      fit <- fit_terms(data, response, current)
      steps[[length(steps) + 1]] <- list(action = "add", term = best, df = s[[best]]$df,
                                         statistic = s[[best]]$statistic, p_value = s[[best]]$p_value,
                                         candidates = s)
      if (seen(current)) { reason <- "cycle"; break }
      visited[[length(visited) + 1]] <- sort(current)
      if (backward) {
        r <- removals()
        if (!is.na(r)) { reason <- r; break }
      }
    }
  }
  cat("\n---", response, "~", paste(vars, collapse = " + "), "| direction", direction, "sle", sle, "sls", sls, "\n")
  for (s in steps) cat(sprintf("%-7s %-28s df=%d  chisq=%.10f  p=%.10g\n", s$action, s$term, s$df, s$statistic, s$p_value))
  cat("final:", paste(current, collapse = " + "), " stop:", reason, "\n")
  print(summary(fit)$coefficients)
  list(direction = direction, slentry = sle, slstay = sls, steps = steps, final_terms = I(current),
       stop_reason = reason, coefficients = as.list(coef(fit)), loglik = as.numeric(logLik(fit)))
}

## ------------------------------------------------------------------ Remission (SAS example data)
rem <- read.csv(file.path(OUTDIR, "remission.csv"))
rv <- c("cell", "smear", "infil", "li", "blast", "temp")
remission <- list(
  stepwise = sas_select(rem, "remiss", rv, 0.3, 0.35, "both"),
  forward = sas_select(rem, "remiss", rv, 0.3, 0.35, "forward"),
  backward = sas_select(rem, "remiss", rv, 0.3, 0.35, "backward"),
  cycle = sas_select(rem, "remiss", rv, 0.5, 0.1, "both")
)

## ------------------------------------------------------------------ synthetic data
syn <- read.csv(file.path(OUTDIR, "synthetic_stepwise.csv"))
sv <- c("x1", "x2", "x3", "x4", "g")
synthetic <- list(
  stepwise = sas_select(syn, "y", sv, 0.15, 0.15, "both"),
  forward = sas_select(syn, "y", sv, 0.15, 0.15, "forward"),
  backward = sas_select(syn, "y", sv, 0.15, 0.15, "backward")
)

## ------------------------------------------------------------------ real data
d <- read.csv(DATA, stringsAsFactors = FALSE)
d$flag <- d$coupon_ind
tv <- c("age", "job", "marriage", "default", "returned", "loan",
        "coupon_used_in_last6_month", "coupon_used_in_last_month")
null <- fit_terms(d, "flag", character(0))
full <- fit_terms(d, "flag", tv)
mid_terms <- c("returned", "coupon_used_in_last_month")
mid <- fit_terms(d, "flag", mid_terms)
cat("\n--- add1(null, test = 'Rao')\n"); print(add1(null, scope = tv, test = "Rao"))
cat("\n--- add1(mid, test = 'Rao')\n"); print(add1(mid, scope = setdiff(tv, mid_terms), test = "Rao"))
a3 <- car::Anova(full, type = 3, test.statistic = "Wald")
cat("\n--- car::Anova(full, type = 3, test.statistic = 'Wald')\n"); print(a3)
car_wald <- lapply(rownames(a3), function(r) list(statistic = a3[r, "Chisq"], df = a3[r, "Df"],
                                                   p_value = a3[r, "Pr(>Chisq)"]))
names(car_wald) <- rownames(a3)
real <- list(
  n_rows = nrow(d),
  score_from_null = score_terms(null, tv),
  score_from_mid = list(model_terms = mid_terms, tests = score_terms(mid, setdiff(tv, mid_terms))),
  wald_full_by_hand = wald_terms(full),
  wald_full_car_Anova_type3 = car_wald,
  stepwise = sas_select(d, "flag", tv, 0.05, 0.05, "both"),
  forward = sas_select(d, "flag", tv, 0.05, 0.05, "forward"),
  backward = sas_select(d, "flag", tv, 0.05, 0.05, "backward"),
  cycle = sas_select(d, "flag", tv, 0.5, 0.05, "both")
)

info <- list(R_version = R.version.string, car = as.character(packageVersion("car")),
             jsonlite = as.character(packageVersion("jsonlite")), data_file = DATA,
             glm_control = "epsilon = 1e-14, maxit = 100, then refitted from the converged estimates",
             rules = paste("entry: add1(test='Rao') smallest p < slentry; removal: joint Wald b'V^-1b",
                           "largest p > slstay; stop when a step reaches a previously visited model"))
res <- list(info = info, remission = remission, synthetic = synthetic, real = real)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(OUTDIR, "stepwise_reference_R.json"))
cat("\n"); print(sessionInfo())
sink()
