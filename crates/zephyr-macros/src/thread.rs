//! Expansion of `#[zephyr::thread(stack_size = ..., pool_size = ...)]`.
//!
//! ```ignore
//! #[zephyr::thread(stack_size = 4096, pool_size = 2)]
//! pub fn worker(id: usize, mut out: Sender<u32>) { body }
//! ```
//! becomes
//! ```ignore
//! #[doc(hidden)]
//! fn __worker_thread(id: usize, mut out: Sender<u32>) { body }
//!
//! pub fn worker(id: usize, out: Sender<u32>) -> ::zephyr::thread::ReadyThread {
//!     type __ZephyrArgs = (usize, Sender<u32>,);
//!     static __ZEPHYR_POOL: ::zephyr::thread::ThreadPool<
//!         { size_of::<__ZephyrArgs>() }, { stack_len(4096) }, { 2 }> = ThreadPool::new();
//!     let __zephyr_args: __ZephyrArgs = (id, out,);
//!     __ZEPHYR_POOL.spawn("worker", move || {
//!         let __zephyr_args = __zephyr_args; // the closure holds the tuple, nothing else
//!         let (id, out,) = __zephyr_args;
//!         __worker_thread(id, out);
//!     })
//! }
//! ```
//! The closure captures exactly the argument tuple, so the pool's closure capacity is its size;
//! `ThreadPool::spawn` checks that at compile time.

use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Expr, FnArg, ItemFn, MetaNameValue, Pat, ReturnType, Token, Type};

/// What the attribute's arguments say.
#[derive(Default)]
struct Args {
    stack_size: Option<Expr>,
    pool_size: Option<Expr>,
}

fn parse_args(args: TokenStream, errors: &mut TokenStream) -> Args {
    let mut out = Args::default();
    let list = match Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args) {
        Ok(list) => list,
        Err(e) => {
            errors.extend(e.into_compile_error());
            return out;
        }
    };
    for arg in list {
        let slot = if arg.path.is_ident("stack_size") {
            &mut out.stack_size
        } else if arg.path.is_ident("pool_size") {
            &mut out.pool_size
        } else {
            error(errors, &arg.path, "unknown argument: expected `stack_size` or `pool_size`");
            continue;
        };
        if slot.is_some() {
            error(errors, &arg.path, "argument given twice");
        }
        *slot = Some(arg.value);
    }
    out
}

/// Expands the attribute on `item`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = TokenStream::new();
    let f: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let mut out = item;
            out.extend(e.into_compile_error());
            return out;
        }
    };
    let args = parse_args(args, &mut errors);
    let stack_size = args.stack_size.map_or_else(|| quote!(2048), |e| e.into_token_stream());
    let pool_size = args.pool_size.map_or_else(|| quote!(1), |e| e.into_token_stream());

    let sig = &f.sig;
    if sig.asyncness.is_some() {
        error(&mut errors, sig.asyncness, "a thread function must not be async");
    }
    if sig.constness.is_some() {
        error(&mut errors, sig.constness, "a thread function must not be const");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        error(&mut errors, &sig.generics, "a thread function must not be generic");
    }
    if sig.abi.is_some() {
        error(&mut errors, &sig.abi, "a thread function must not have an ABI qualifier");
    }
    if sig.variadic.is_some() {
        error(&mut errors, &sig.variadic, "a thread function must not be variadic");
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        match &**ty {
            Type::Tuple(t) if t.elems.is_empty() => {}
            Type::Never(_) => {}
            _ => error(&mut errors, ty, "a thread function must return `()` or `!`"),
        }
    }

    let mut names = Vec::new();
    let mut types = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => error(&mut errors, r, "a thread function must not take `self`"),
            FnArg::Typed(t) => {
                if let Some(attr) = t.attrs.first() {
                    error(&mut errors, attr, "attributes on thread arguments are not supported");
                }
                check_static(&mut errors, &t.ty);
                match &*t.pat {
                    Pat::Ident(id) if id.by_ref.is_none() && id.subpat.is_none() => {
                        names.push(id.ident.clone());
                        types.push((*t.ty).clone());
                    }
                    other => error(
                        &mut errors,
                        other,
                        "thread arguments must be plain names (`name: Type`), not patterns",
                    ),
                }
            }
        }
    }

    let ident = &sig.ident;
    let inner_ident = format_ident!("__{}_thread", ident);
    let name = ident.to_string();
    let vis = &f.vis;
    let attrs = &f.attrs;

    let mut inner = f.clone();
    inner.vis = syn::Visibility::Inherited;
    inner.sig.ident = inner_ident.clone();
    // The body keeps the user's attributes (`#[inline]`, lints) but not the docs.
    inner.attrs.retain(|a| !a.path().is_ident("doc"));

    let outer_lints = if errors.is_empty() {
        TokenStream::new()
    } else {
        quote!(#[allow(unused_variables, unreachable_code)])
    };
    let outer_body = if errors.is_empty() {
        quote! {
            type __ZephyrArgs = (#(#types,)*);
            static __ZEPHYR_POOL: ::zephyr::thread::ThreadPool<
                { ::core::mem::size_of::<__ZephyrArgs>() },
                { ::zephyr::thread::stack_len(#stack_size) },
                { #pool_size },
            > = ::zephyr::thread::ThreadPool::new();
            let __zephyr_args: __ZephyrArgs = (#(#names,)*);
            __ZEPHYR_POOL.spawn(#name, move || {
                // Moving the whole tuple makes the closure capture it whole (not field by
                // field), so the closure is exactly the tuple's size.
                let __zephyr_args = __zephyr_args;
                let (#(#names,)*) = __zephyr_args;
                #inner_ident(#(#names),*);
            })
        }
    } else {
        // Keep the signature, so that callers still type-check while the errors are shown.
        quote!(::core::todo!())
    };

    quote! {
        #[doc(hidden)]
        #inner

        #(#attrs)*
        #outer_lints
        #vis fn #ident(#(#names: #types),*) -> ::zephyr::thread::ReadyThread {
            #outer_body
        }

        #errors
    }
}

/// Reports every lifetime in `ty` that is not `'static` (elided ones included), and
/// `impl Trait`: a thread's arguments outlive the call that created it.
fn check_static(errors: &mut TokenStream, ty: &Type) {
    struct Visitor<'a> {
        errors: &'a mut TokenStream,
    }

    const NOT_STATIC: &str = "thread arguments must live forever: a reference argument must be \
                              `&'static` (the thread may outlive the call that starts it)";

    impl<'ast> Visit<'ast> for Visitor<'_> {
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            if r.lifetime.is_none() {
                error(self.errors, r.and_token, NOT_STATIC);
            }
            visit::visit_type_reference(self, r);
        }

        fn visit_lifetime(&mut self, l: &'ast syn::Lifetime) {
            if l.ident != "static" {
                error(self.errors, l, NOT_STATIC);
            }
        }

        fn visit_type_impl_trait(&mut self, t: &'ast syn::TypeImplTrait) {
            error(
                self.errors,
                t,
                "`impl Trait` is not allowed in thread arguments: a thread function cannot be \
                 generic",
            );
        }
    }

    Visitor { errors }.visit_type(ty);
}

/// Appends a compile error at `at`.
fn error<A: ToTokens, M: Display>(errors: &mut TokenStream, at: A, message: M) {
    let tokens = at.into_token_stream();
    let e = if tokens.is_empty() {
        syn::Error::new(Span::call_site(), message)
    } else {
        syn::Error::new_spanned(tokens, message)
    };
    errors.extend(e.into_compile_error());
}
